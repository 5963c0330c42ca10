"""A route's drill and canary settings (``drill:``, ``canary:`` and ``critical:`` in a route).

Shape::

    routes:
      support_reply:
        critical: true                  # weekly drills instead of monthly
        drill:
          prompts: evals/support.jsonl  # eval cases (core/eval_checks.py); else built-in samples
          count: 5                      # prompts per target and drill
          min_score_ratio: 0.8          # backup mean score >= 0.8 x the primary's
          min_score: 0.5                # ... or, when the primary scored nothing, this absolute floor
          max_latency_ratio: 3.0        # backup p95 latency <= 3 x the primary's ...
          latency_slack_ms: 250         # ... or at most 250 ms above it (small gaps never fail)
          min_success_rate: 0.8         # share of the backup's requests that got an answer
          judge_target: gemini/gemini-2.0-flash@us-central   # LLM judge for cases without checks
          scheduled: true               # a Temporal schedule runs the drill
          live_share: null              # e.g. 0.05: drill on live traffic (5% to each backup in turn)
          live_seconds: 60              # ... for this long per backup
          every_days: null              # its cadence; null: 30 days, 7 when the route is critical
        canary:
          share: 0.01                   # 1% of live requests try the first backup first

Pure: no I/O (the prompts file is read by the drill's prepare activity).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Default cadence of scheduled drills, in days: monthly, weekly for critical routes (the guide's
#: "regular drills (monthly, weekly for critical apps)").
MONTHLY_DAYS = 30.0
WEEKLY_DAYS = 7.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrillConfig(_Strict):
    """Thresholds and cadence of a route's failover drills (see module docstring); ratios are
    backup / primary, latencies compared at p95 (ms), scores in 0..1."""

    prompts: str | None = None
    count: int = Field(default=5, ge=1, le=500)
    min_score_ratio: float = Field(default=0.8, ge=0, le=10)
    min_score: float = Field(default=0.5, ge=0, le=1)
    max_latency_ratio: float = Field(default=3.0, gt=0, le=1000)
    latency_slack_ms: float = Field(default=250.0, ge=0, le=600_000)
    min_success_rate: float = Field(default=0.8, ge=0, le=1)
    judge_target: str | None = None
    scheduled: bool = True
    every_days: float | None = Field(default=None, gt=0, le=366)
    live_share: float | None = Field(default=None, gt=0, le=1)
    live_seconds: float = Field(default=60.0, gt=0, le=86_400)

    def cadence_days(self, critical: bool) -> float:
        """Days between scheduled drills: ``every_days``, else 7 for a critical route, else 30."""
        if self.every_days is not None:
            return self.every_days
        return WEEKLY_DAYS if critical else MONTHLY_DAYS


class CanaryConfig(_Strict):
    """Continuous canary: ``share`` (0..0.5) of the route's live requests put the chain's first
    backup first (decided by a hash of the workflow id, ``core/canary.py``); 0 turns it off."""

    share: float = Field(default=0.0, ge=0, le=0.5)


def drill_problems(route: str, drill: DrillConfig, target_ids: set[str]) -> list[tuple[str, str]]:
    """``(field path, message)`` for a drill block naming an unknown judge target."""
    if drill.judge_target is not None and drill.judge_target not in target_ids:
        return [(f"routes.{route}.drill.judge_target", f"unknown target {drill.judge_target!r}")]
    return []
