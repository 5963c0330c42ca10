"""The ``alerts:`` section of the config (rules in ``core/alerts.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.alerts import DEFAULT_RULES, AlertRule


class AlertsConfig(BaseModel):
    """Alert evaluation (``activities/alerts/``, run by ``switchyard worker``).

    - ``enabled``: evaluate (default on). One worker evaluates at a time (a lease in the database).
    - ``interval_s``: evaluation period (default 10 s).
    - ``webhook_url_env``: name of the environment variable holding the webhook URL (Slack incoming
      webhook or any endpoint taking Slack's ``{"text": ...}`` JSON). A URL with a token in it is a
      secret, so the config names the variable, never the URL; unset: events go to the log and the
      database only.
    - ``rules``: per rule name, fields overriding :data:`core.alerts.DEFAULT_RULES` (e.g.
      ``error_rate: {threshold: 0.1, clear: 0.05}``, ``quality: {enabled: false}``); a new name
      needs ``kind``, ``threshold`` and ``clear``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    interval_s: float = Field(default=10.0, gt=0)
    webhook_url_env: str | None = None
    rules: dict[str, AlertRule] = Field(default_factory=lambda: dict(DEFAULT_RULES))

    @field_validator("rules", mode="before")
    @classmethod
    def _merge_defaults(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        merged: dict[str, Any] = {k: r.model_dump() for k, r in DEFAULT_RULES.items()}
        for name, over in v.items():
            if isinstance(over, AlertRule):
                merged[name] = over.model_dump()
            elif isinstance(over, dict):
                merged[name] = {**merged.get(name, {}), **over}
            else:
                merged[name] = over
        return merged
