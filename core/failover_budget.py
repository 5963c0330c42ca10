"""Failover budget per route: overload failovers stay a bounded share of requests (pure math).

Without a budget, an overloaded chain multiplies traffic: every request that meets a 429, an
overload answer or a timeout moves on and loads the next target too. The budget is Finagle's /
tower's ``RetryBudget`` (``shared/RESILIENCE.md`` 3.3, S24): each first attempt of a request
deposits ``ratio`` (default 0.2: Envoy's ``budget_percent`` 20%, S7) up to ``max_balance``, each
failover after an overload-class failure (``core/concurrency.py``'s ``DROP_CLASSES``) withdraws 1,
and a floor bucket allows ``floor_per_s`` failovers per second regardless (1/s, Finagle's
minimum), so low traffic can still fail over. When both are empty the attempt is not made and the
request ends with ``FailoverBudgetExhausted`` (503 + Retry-After), the trace saying why.
Failovers after other failures (a bad key, a context window, a content filter) are not budgeted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.health.budget import RateBucket


class FailoverBudgetSettings(BaseModel):
    """``ratio``: failover allowance per request (``None``: no budget, the default);
    ``max_balance``: most saved-up failovers; ``floor_per_s``: failovers per second always allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ratio: float | None = Field(default=None, gt=0, le=1)
    max_balance: float = Field(default=10.0, ge=1)
    floor_per_s: float = Field(default=1.0, ge=0)


class FailoverBudget(BaseModel):
    """One route's budget (see module docstring). Times in unix seconds."""

    balance: float = 0.0
    floor: RateBucket = Field(default_factory=RateBucket)

    def on_request(self, s: FailoverBudgetSettings) -> None:
        """A request's first attempt: deposit ``ratio``."""
        self.balance = min(s.max_balance, self.balance + (s.ratio or 0.0))

    def try_failover(self, s: FailoverBudgetSettings, now: float) -> bool:
        """Spend one failover if the balance or the floor bucket has one."""
        if self.balance >= 1.0:
            self.balance -= 1.0
            return True
        return s.floor_per_s > 0 and self.floor.take(now, s.floor_per_s, burst=1.0)
