"""Traffic share of one target: the fraction of new requests that keep it in its chain position
(RESILIENCE.md R5). The rest put it last, behind every healthier target, so it stays a last resort.

Cap by state (R5.1): healthy / warn 100 %; degraded 75 % at once, 50 % once degraded for
``degraded_step_after_s``; severe ``severe_share`` (5 %, the probe share); breaker open 0 %;
half-open ``half_open_share`` (the trial traffic, whatever the level). Going down is immediate.
Going up (failback, R5.4) moves one step of ``ramp_steps`` at a time, each after
``ramp_dwell_s x (1 + relapses)`` and ``ramp_min_samples`` outcomes on the current step, while the
breaker is closed and recent latency is below ``ramp_max_latency_ratio`` x baseline, never above
the level's cap (so a degraded target ramps to 50 % and waits for the level to clear; deviation:
R5.4 asks for every detector healthy before any step). Failback never skips a step (R11.4).
"""

from __future__ import annotations

from pydantic import BaseModel

from core.health.breaker import BreakerState
from core.health.levels import Level
from core.health.settings import HealthSettings


def level_cap(level: Level, degraded_for_s: float, s: HealthSettings) -> float:
    """Largest share the level allows."""
    if level is Level.SEVERE:
        return s.severe_share
    if level is Level.DEGRADED:
        return s.degraded_share_first if degraded_for_s < s.degraded_step_after_s else s.degraded_share
    return 1.0


def next_step(share: float, steps: tuple[float, ...]) -> float:
    """The smallest ramp step above ``share``."""
    return next((x for x in steps if x > share + 1e-9), 1.0)


class ShareState(BaseModel):
    """``share`` in [0, 1]; ``since``: when it last changed; ``samples`` since then."""

    share: float = 1.0
    since: float = 0.0
    samples: int = 0
    degraded_since: float | None = None

    def update(self, now: float, level: Level, breaker: BreakerState, breaker_cap: float, latency_ok: bool,
               relapses: int, s: HealthSettings) -> str | None:
        """Apply the cap and the ramp; returns a note when the share changed."""
        if level >= Level.DEGRADED and self.degraded_since is None:
            self.degraded_since = now
        elif level < Level.DEGRADED:
            self.degraded_since = None
        degraded_for = now - self.degraded_since if self.degraded_since is not None else 0.0
        if breaker is BreakerState.HALF_OPEN:  # trial traffic is the breaker's call, whatever the level
            cap = breaker_cap
            if abs(cap - self.share) > 1e-9:
                return self._set(now, cap, "half-open trials")
            return None
        cap = min(level_cap(level, degraded_for, s), breaker_cap)
        if cap < self.share - 1e-9:
            return self._set(now, cap, "down")
        ramp_ok = (breaker is BreakerState.CLOSED and latency_ok and self.samples >= s.ramp_min_samples
                   and now - self.since >= s.ramp_dwell_s * (1 + relapses))
        if cap > self.share + 1e-9 and ramp_ok:
            return self._set(now, min(cap, next_step(self.share, s.ramp_steps)), "failback step")
        return None

    def _set(self, now: float, share: float, why: str) -> str:
        old, self.share, self.since, self.samples = self.share, share, now, 0
        return f"share {old:.0%} -> {share:.0%} ({why})"
