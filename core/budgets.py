"""Money budgets: the ``budgets:`` config rules and the pure arithmetic of admission.

A rule caps spend (USD) of one scope over a calendar period (UTC)::

    budgets:
      - {scope: tenant, name: acme, period: month, hard_usd: 100, soft_usd: 80}
      - {scope: tenant, name: "*", period: day, hard_usd: 5}      # every tenant, each its own cap
      - {scope: key, name: k-3f2a9c, period: day, hard_usd: 1}    # a gateway key id
      - {scope: route, name: contract_review, period: month, hard_usd: 500}

Before a call the gateway reserves the request's **estimate** (:func:`estimate_usd`: estimated
prompt tokens and the output cap priced at the dearest target of the route's chain, so the
reservation is an upper bound) against every matching rule; over ``hard_usd`` the request is
refused (429 ``budget_exceeded``, ``Retry-After`` until the period ends). Past ``soft_usd`` the
request runs with ``prefer_cheaper``: planning puts the cheapest healthy targets first. After the
request the reservation is released and the spend **settled** with what the outcome rows say it
cost. Spend lives in the database (``budget_spend``), so every gateway replica enforces the same cap.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from core.config import Price

Scope = Literal["tenant", "key", "route"]
DEFAULT_OUTPUT_TOKENS = 1024  # output estimate when a request sets no max_tokens


class BudgetRule(BaseModel):
    """One cap. ``name``: the tenant, key id or route it applies to, ``*`` for each of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Scope
    name: str = Field(min_length=1, max_length=255)
    period: Literal["day", "month"] = "month"
    hard_usd: float = Field(gt=0)
    soft_usd: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _soft_below_hard(self) -> BudgetRule:
        if self.soft_usd is not None and self.soft_usd >= self.hard_usd:
            raise ValueError(f"soft_usd ({self.soft_usd}) must be below hard_usd ({self.hard_usd})")
        return self

    def matches(self, value: str | None) -> bool:
        return value is not None and self.name in ("*", value)


def period_bounds(period: str, now: float) -> tuple[float, float]:
    """``(start, end)`` unix s of the UTC day or month containing ``now``."""
    t = dt.datetime.fromtimestamp(now, dt.UTC)
    if period == "day":
        start = t.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp(), (start + dt.timedelta(days=1)).timestamp()
    start = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (start + dt.timedelta(days=32)).replace(day=1)
    return start.timestamp(), nxt.timestamp()


def estimate_usd(prompt_tokens: int, output_cap: int | None, prices: list[Price]) -> float:
    """Upper-bound cost (USD) of one request: its estimated prompt tokens and output cap (or
    :data:`DEFAULT_OUTPUT_TOKENS`) at the dearest of ``prices`` (USD per 1M tokens)."""
    out = output_cap or DEFAULT_OUTPUT_TOKENS
    return max((prompt_tokens * p.input + out * p.output) / 1e6 for p in prices) if prices else 0.0
