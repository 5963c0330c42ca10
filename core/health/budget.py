"""Budgets for extra calls (RESILIENCE.md R7.2, R8.4, R11.3): token buckets on an injected clock.

- :class:`RetryBudget` (gRPC retry throttling, gRFC A6): ``max_tokens`` 10, each success adds
  ``ratio`` (0.1), each failure takes 1; same-target retries are allowed while tokens > max/2, or
  from a floor bucket refilled at ``floor_per_s`` (1 retry/s, Finagle/tower minimum) so low
  traffic still gets retries. Net effect: retries stay near 10 % of calls under a failure storm.
- :class:`RateBucket`: at most ``rate_per_s`` on average with a burst of ``burst``; used for
  probes (rate = max(5 % of the request rate, 1 per 5 s)) and, when enabled, hedges (5 %).
"""

from __future__ import annotations

from pydantic import BaseModel


class RateBucket(BaseModel):
    """Token bucket: ``tokens`` now, refilled continuously at the rate given to :meth:`take`."""

    tokens: float = 1.0
    at: float | None = None

    def take(self, now: float, rate_per_s: float, burst: float = 1.0) -> bool:
        """Spend one token if there is one (after refilling at ``rate_per_s`` up to ``burst``)."""
        if self.at is not None:
            self.tokens = min(burst, self.tokens + max(0.0, now - self.at) * rate_per_s)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RetryBudget(BaseModel):
    """Per-target retry budget (see module docstring)."""

    tokens: float = 10.0
    floor: RateBucket = RateBucket()

    def on_result(self, success: bool, max_tokens: float, ratio: float) -> None:
        """Count the result of one call."""
        self.tokens = min(max_tokens, self.tokens + ratio) if success else max(0.0, self.tokens - 1.0)

    def allow(self, now: float, max_tokens: float, floor_per_s: float) -> bool:
        """Whether one same-target retry may be sent now."""
        if self.tokens > max_tokens / 2:
            return True
        return floor_per_s > 0 and self.floor.take(now, floor_per_s)
