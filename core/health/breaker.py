"""Circuit breaker of one target (RESILIENCE.md R6), separate from the statistical health level.

States and transitions::

    CLOSED --(5 consecutive failures | 3 consecutive timeouts | >= 20 calls in 30 s with
              failure rate >= 50 % or slow-call rate >= 50 %)--> OPEN
    OPEN --(wait over | a streak of >= 3 successful probes lasting probe_dwell_s x 2^relapses)--> HALF_OPEN
    HALF_OPEN --(>= 4 of 5 trials succeed, slow rate < 50 %)--> CLOSED
    HALF_OPEN --(a trial failure makes 4 of 5 impossible | trials done without 4 successes)--> OPEN
    HALF_OPEN --(no trial within 60 s)--> OPEN

OPEN waits ``open_base_s x 2^(opens - 1 + relapses)`` capped at ``open_max_s`` with +-``open_jitter``
(Envoy base/max ejection time and jitter; doubling per R6.2). ``opens`` counts opens since the last
close (a long outage whose half-open trials keep failing); ``relapses`` counts opens within
``relapse_window_s`` of a close (flapping) and decays by one per healthy ``relapse_window_s``; it
lengthens the waits, the probe streak and the failback ramp so a flapping target stops bouncing.
Capacity (429) and ignored outcomes never count (R6.4). Jitter draws come from the caller.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from core.health.settings import HealthSettings
from core.health.signals import Kind, Observation
from core.health.window import BucketWindow


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker(BaseModel):
    """State of one breaker; :meth:`record` and :meth:`tick` return a transition note or ``None``."""

    state: BreakerState = BreakerState.CLOSED
    since: float = 0.0
    reason: str = ""
    opens: int = 0
    relapses: int = 0
    open_until: float = 0.0
    closed_at: float | None = None
    last_decay: float = 0.0
    consecutive: int = 0
    timeouts: int = 0
    window: BucketWindow = Field(default_factory=BucketWindow)
    streak: int = 0
    streak_since: float | None = None
    trials: int = 0
    trial_failures: int = 0
    trial_slow: int = 0

    def share_cap(self, s: HealthSettings) -> float:
        """Largest share of new requests this breaker state allows."""
        return {BreakerState.CLOSED: 1.0, BreakerState.HALF_OPEN: s.half_open_share}.get(self.state, 0.0)

    def record(self, obs: Observation, slow: bool, s: HealthSettings, u: float) -> str | None:
        """Count one call (``slow``: slower than the slow-call threshold); ``u`` in [0, 1) for jitter."""
        if obs.kind not in (Kind.OK, Kind.FAILURE):
            return None
        if self.state is BreakerState.CLOSED:
            return self._closed(obs, slow, s, u)
        if self.state is BreakerState.OPEN:
            self.streak, self.streak_since = (0, None) if obs.failed else (
                self.streak + 1, self.streak_since if self.streak_since is not None else obs.at)
            return None
        return self._half_open(obs, slow, s, u)

    def _closed(self, obs: Observation, slow: bool, s: HealthSettings, u: float) -> str | None:
        self.window.add(obs.at, obs.failed, slow, s.window_s)
        self.consecutive = self.consecutive + 1 if obs.failed else 0
        self.timeouts = self.timeouts + 1 if obs.timeout else 0
        calls, fails, slows = self.window.totals(obs.at, s.window_s)
        why = None
        if self.consecutive >= s.consecutive_failures:
            why = f"{self.consecutive} consecutive failures"
        elif self.timeouts >= s.consecutive_timeouts:
            why = f"{self.timeouts} consecutive timeouts"
        elif calls >= s.min_calls and fails / calls >= s.failure_rate_open:
            why = f"failure rate {fails / calls:.0%} of {calls} calls in {s.window_s:g} s"
        elif calls >= s.min_calls and slows / calls >= s.slow_rate_open:
            why = f"slow-call rate {slows / calls:.0%} of {calls} calls in {s.window_s:g} s"
        return self._open(obs.at, why, s, u) if why else None

    def _half_open(self, obs: Observation, slow: bool, s: HealthSettings, u: float) -> str | None:
        self.trials += 1
        self.trial_failures += obs.failed
        self.trial_slow += slow
        if self.trial_failures > s.half_open_trials - s.half_open_successes:
            return self._open(obs.at, f"half-open trial failed ({self.trial_failures} of {self.trials})", s, u)
        if self.trials >= s.half_open_trials:
            if self.trial_slow / self.trials >= s.slow_rate_open:
                return self._open(obs.at, f"half-open trials slow ({self.trial_slow} of {self.trials})", s, u)
            return self._close(obs.at, f"{self.trials - self.trial_failures} of {self.trials} trials succeeded")
        return None

    def tick(self, now: float, s: HealthSettings) -> str | None:
        """Time-driven transitions (wait over, probe streak, idle half-open, relapse decay)."""
        if self.state is BreakerState.OPEN:
            dwell = s.probe_dwell_s * 2 ** self.relapses
            if now >= self.open_until:
                return self._to_half_open(now, "open wait over")
            if (self.streak >= s.probe_successes_to_half_open and self.streak_since is not None
                    and now - self.streak_since >= dwell):
                return self._to_half_open(now, f"{self.streak} successes over {now - self.streak_since:.0f} s")
        elif self.state is BreakerState.HALF_OPEN:
            if self.trials == 0 and now - self.since >= s.half_open_idle_s:
                self.state, self.since, self.open_until = BreakerState.OPEN, now, now + s.open_base_s
                self.reason = f"no half-open trial within {s.half_open_idle_s:g} s"
                return self.reason
        elif self.relapses and now - self.last_decay >= s.relapse_window_s:
            self.relapses -= 1
            self.last_decay = now
        return None

    def _open(self, now: float, why: str, s: HealthSettings, u: float) -> str:
        recent_close = self.closed_at is not None and now - self.closed_at < s.relapse_window_s
        if self.state is BreakerState.CLOSED and recent_close:
            self.relapses += 1
        self.opens += 1
        wait = min(s.open_base_s * 2 ** (self.opens - 1 + self.relapses), s.open_max_s)
        wait *= 1.0 + s.open_jitter * (2.0 * u - 1.0)
        self.state, self.since, self.open_until, self.reason = BreakerState.OPEN, now, now + wait, why
        self.streak, self.streak_since, self.consecutive, self.timeouts = 0, None, 0, 0
        self.window.clear()
        return f"open for {wait:.0f} s: {why}"

    def _to_half_open(self, now: float, why: str) -> str:
        self.state, self.since, self.reason = BreakerState.HALF_OPEN, now, why
        self.trials = self.trial_failures = self.trial_slow = 0
        return f"half-open: {why}"

    def _close(self, now: float, why: str) -> str:
        self.state, self.since, self.reason, self.closed_at = BreakerState.CLOSED, now, why, now
        self.opens, self.last_decay, self.consecutive, self.timeouts = 0, now, 0, 0
        self.window.clear()
        return f"closed: {why}"
