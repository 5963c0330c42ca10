"""In-process health of every target for one worker process (the hot path reads only memory).

- The attempt activity calls :meth:`HealthMonitor.state_of` (for the outcome row's
  ``health_state``), then :meth:`observe_outcome` right after writing the row: this worker's view
  changes at once, with no database round trip.
- Planning calls :meth:`views`: a dict built from the board, cached for ``view_ttl_s`` (0.2 s) or
  until something changed (a transition, a failure, a probe; an ok call that moved nothing keeps
  the cache: rebuilding every target's view after every answer cost ~0.5 ms per request), so a
  request costs no query.
- While this process's event loop lags more than ``MAX_LOOP_LAG_S`` (measured by the sync loop),
  its own calls' latencies are not fed to the latency detectors: they would measure our queueing.
- The attempt activity wraps every provider call in :meth:`HealthMonitor.in_flight`
  (``with monitor.in_flight(target_id): ...``; or ``token = monitor.call_started(target_id)`` and
  ``monitor.call_ended(token)`` in a ``finally``). A call in flight is activity: the prober does not
  take its target for idle and does not probe it while the call is live (within its timeout plus
  ``core.health.inflight.OVERDUE_GRACE_S``), because the call itself reports the outcome at the
  latest when its timeout fires. :meth:`in_flight_count` and :meth:`oldest_in_flight_s` read it.
  In-flight calls are this process's only (other workers' are not shared).
- :class:`activities.health.sync.HealthSync` feeds other workers' outcomes, probes and feedback
  into :meth:`observe` / :meth:`vote` and publishes :meth:`snapshot` to the database.

Single-threaded: every method runs on the worker's event loop.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from activities.storage.outcomes import OutcomeRow
from core.config import ConfigSource
from core.health.board import HealthBoard, settings_for
from core.health.budget import RetryBudget
from core.health.inflight import CallToken, InFlight
from core.health.settings import HealthSettings
from core.health.signals import Observation, Vote, observe
from core.health.view import TargetView

#: How long this worker remembers the keys of outcomes it fed itself (so the database poll skips them).
OWN_KEYS_S = 120.0
#: Event-loop lag (s) above which this process's own latency measurements are not trusted: an
#: overloaded worker measures its own queueing, not the provider (our choice; RESILIENCE.md 6.5
#: warns that "everyone got slower" must not read as one target's slowdown).
MAX_LOOP_LAG_S = 0.25
#: Timeout (s) assumed for a call of a target missing from the live config (``TargetConfig.timeout_s`` default).
DEFAULT_CALL_TIMEOUT_S = 30.0


class HealthMonitor:
    """See module docstring. ``clock``: unix seconds; ``rng``: breaker jitter."""

    def __init__(self, configs: ConfigSource, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, view_ttl_s: float = 0.2) -> None:
        self._configs = configs
        self._clock = clock
        self._settings_cache: tuple[str, dict[str, HealthSettings]] = ("", {})
        self.board = HealthBoard(self.settings, rng=rng)
        self._budgets: dict[str, RetryBudget] = {}
        self._own: dict[tuple[str, int, int], float] = {}
        self._user_calls: deque[float] = deque()
        self.last_probe: dict[str, float] = {}
        self._views: dict[str, TargetView] | None = None
        self._views_at = float("-inf")
        self._ttl = view_ttl_s
        self.starter: Callable[[], Awaitable[None]] | None = None
        self._start_lock = asyncio.Lock()
        self._started = False
        self.loop_lag_s = 0.0
        self.latency_skipped = 0
        self.calls = InFlight()

    async def ensure_started(self) -> None:
        """Run ``starter`` (resume state from the database, start syncing) once, on first use, so
        every wiring that builds the activities gets a started health layer (cheap afterwards)."""
        if self._started or self.starter is None:
            return
        async with self._start_lock:
            if not self._started:
                await self.starter()
                self._started = True

    def settings(self, target: str) -> HealthSettings:
        """Effective settings of ``target`` under the live config (cached per config version)."""
        cfg, version = self._configs.current()
        if self._settings_cache[0] != version:
            self._settings_cache = (version, {})
        cache = self._settings_cache[1]
        if target not in cache:
            cache[target] = settings_for(cfg, target)
        return cache[target]

    def targets(self) -> list[str]:
        """Target ids of the live config."""
        return [t.id for t in self._configs.current()[0].targets]

    def views(self) -> dict[str, TargetView]:
        """Every configured target's view (cached, see module docstring)."""
        now = self._clock()
        if self._views is None or now - self._views_at >= self._ttl:
            self.board.tick(now)
            self._views, self._views_at = self.board.views(now, self.targets()), now
        return self._views

    def state_of(self, target: str) -> str:
        """healthy | degraded | down, from the cached views."""
        v = self.views().get(target)
        return v.state if v else "healthy"

    def observe(self, obs: Observation) -> list[str]:
        """Feed one outcome (this worker's, another worker's or a probe)."""
        if obs.probe:
            self.last_probe[obs.target] = max(self.last_probe.get(obs.target, 0.0), obs.at)
        else:
            self._user_calls.append(obs.at)
        notes = self.board.observe(obs)
        if notes or obs.failed or obs.probe:  # an ok call that moved nothing keeps the cached views
            self._views = None
        return notes

    def observe_outcome(self, row: OutcomeRow) -> list[str]:
        """Feed an outcome row this worker just wrote (and remember its key)."""
        now = self._clock()
        self._own[(row.workflow_id, row.seq, row.try_no)] = now
        if len(self._own) > 10_000 or (self._own and next(iter(self._own.values())) < now - OWN_KEYS_S):
            self._own = {k: t for k, t in self._own.items() if t > now - OWN_KEYS_S}
        s = self.settings(row.target)
        budget = self._budgets.setdefault(row.target, RetryBudget(tokens=s.retry_budget_max_tokens))
        trusted = self.loop_lag_s <= MAX_LOOP_LAG_S
        self.latency_skipped += not trusted
        obs = observe(row.target, row.created_at, row.status_class, counts_against_health=row.counts_against_health,
                      latency_ms=row.latency_ms if trusted else None, ttft_ms=row.ttft_ms if trusted else None,
                      output_tokens=row.completion_tokens, quality_flags=row.quality_flags)
        if obs.kind.value in ("ok", "failure"):
            budget.on_result(not obs.failed, s.retry_budget_max_tokens, s.retry_budget_ratio)
        return self.observe(obs)

    def call_started(self, target: str, timeout_s: float | None = None) -> CallToken:
        """Register one provider call of ``target`` starting now; ``timeout_s``: the call's own
        timeout in s (default: the target's ``timeout_s`` in the live config, 30 s if unknown).
        Pair with :meth:`call_ended` in a ``finally``."""
        return self.calls.start(target, self._clock(), self._timeout_of(target) if timeout_s is None else timeout_s)

    def call_ended(self, token: CallToken) -> None:
        """The call of ``token`` is over (answered, failed, timed out or cancelled). Idempotent."""
        self.calls.end(token, self._clock())

    @contextmanager
    def in_flight(self, target: str, timeout_s: float | None = None) -> Iterator[CallToken]:
        """``with monitor.in_flight(target_id): await <provider call>``: :meth:`call_started` on
        entry, :meth:`call_ended` on any exit (exceptions and cancellation included)."""
        token = self.call_started(target, timeout_s)
        try:
            yield token
        finally:
            self.call_ended(token)

    def in_flight_count(self, target: str) -> int:
        """This process's calls of ``target`` in flight now (overdue ones included)."""
        return self.calls.count(target)

    def oldest_in_flight_s(self, target: str) -> float | None:
        """Age in s of this process's oldest call of ``target`` in flight; ``None`` when none is."""
        return self.calls.oldest_age_s(target, self._clock())

    def busy(self, target: str, now: float | None = None) -> bool:
        """Whether ``target`` has a live (not overdue) call in flight in this process at ``now``
        (unix s, default: the monitor's clock)."""
        return self.calls.live(target, self._clock() if now is None else now) > 0

    def _timeout_of(self, target: str) -> float:
        try:
            return self._configs.current()[0].target(target).timeout_s
        except KeyError:
            return DEFAULT_CALL_TIMEOUT_S

    def note_loop_lag(self, lag_s: float) -> None:
        """Record a measurement of this process's event-loop lag (EWMA, weight 0.3)."""
        self.loop_lag_s = 0.7 * self.loop_lag_s + 0.3 * max(0.0, lag_s)

    def is_own(self, workflow_id: str, seq: int, try_no: int) -> bool:
        """Whether this worker already fed the outcome with this key."""
        return (workflow_id, seq, try_no) in self._own

    def vote(self, v: Vote) -> list[str]:
        notes = self.board.vote(v)
        self._views = None
        return notes

    def allow_retry(self, target: str) -> bool:
        """Retry budget check for one same-target retry (R7.2)."""
        s = self.settings(target)
        budget = self._budgets.setdefault(target, RetryBudget(tokens=s.retry_budget_max_tokens))
        return budget.allow(self._clock(), s.retry_budget_max_tokens, s.retry_budget_floor_per_s)

    def request_rate(self, span_s: float = 60.0) -> float:
        """User calls per second over the last ``span_s`` seconds (all workers, as synced)."""
        now = self._clock()
        while self._user_calls and self._user_calls[0] < now - span_s:
            self._user_calls.popleft()
        return len(self._user_calls) / span_s

    def snapshot(self) -> list[tuple[TargetView, dict]]:
        """Every tracked target's view and full tracker state (for the database)."""
        views = self.views()
        return [(views.get(t) or self.board.views(self._clock(), [t])[t], tr.model_dump(mode="json"))
                for t, tr in self.board.trackers.items()]

    def now(self) -> float:
        return self._clock()
