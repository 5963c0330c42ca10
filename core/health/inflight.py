"""Provider calls in flight per target, so a target that is busy is not taken for an idle one.

Pure bookkeeping on times passed in (unix s), no clock of its own: ``start(target, now, timeout_s)``
returns a :class:`CallToken`, ``end(token, now)`` forgets it (ending twice, or a token of another
registry, is a no-op). Per target it answers: how many calls are in flight, when the oldest one
started, when the last one ended, and whether any call is still *live*.

A call is live until ``started_at + timeout_s + OVERDUE_GRACE_S``: past that moment its own timer
should have fired and reported the outcome, so a call still registered is a leak (a caller that
never ended its token) or a stalled process, and it no longer stops probes of its target; it still
shows in :meth:`InFlight.count` and :meth:`InFlight.oldest_age_s`. The grace covers the connect
phase, the outcome write and event-loop lag (our choice: 5 s, above ``MAX_LOOP_LAG_S`` x 20).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

#: Seconds after a call's own timeout at which it stops counting as live (see module docstring).
OVERDUE_GRACE_S = 5.0


@dataclass(frozen=True)
class CallToken:
    """One call in flight: ``target`` id, ``started_at`` (unix s), ``timeout_s`` (its own timeout,
    s), ``key`` (unique within its registry)."""

    target: str
    started_at: float
    timeout_s: float
    key: int

    @property
    def live_until(self) -> float:
        """Unix s after which the call is overdue (``started_at + timeout_s + OVERDUE_GRACE_S``)."""
        return self.started_at + self.timeout_s + OVERDUE_GRACE_S


@dataclass
class InFlight:
    """Registry of calls in flight (see module docstring). Not thread-safe: one event loop."""

    _calls: dict[str, dict[int, CallToken]] = field(default_factory=dict)
    _ended: dict[str, float] = field(default_factory=dict)
    _keys: itertools.count = field(default_factory=itertools.count)

    def start(self, target: str, now: float, timeout_s: float) -> CallToken:
        """Register a call of ``target`` started at ``now`` with its timeout ``timeout_s`` (s)."""
        token = CallToken(target, now, max(0.0, timeout_s), next(self._keys))
        self._calls.setdefault(target, {})[token.key] = token
        return token

    def end(self, token: CallToken, now: float) -> None:
        """Forget ``token`` (idempotent) and record ``now`` as the target's last activity."""
        calls = self._calls.get(token.target)
        if calls is None or calls.pop(token.key, None) is None:
            return
        if not calls:
            del self._calls[token.target]
        self._ended[token.target] = max(self._ended.get(token.target, now), now)

    def count(self, target: str) -> int:
        """Calls of ``target`` in flight now (live or overdue)."""
        return len(self._calls.get(target, ()))

    def oldest_started(self, target: str) -> float | None:
        """Unix s the oldest call of ``target`` in flight started, ``None`` when none is."""
        calls = self._calls.get(target)
        return min(t.started_at for t in calls.values()) if calls else None

    def oldest_age_s(self, target: str, now: float) -> float | None:
        """Seconds the oldest call of ``target`` in flight has been running, ``None`` when none is."""
        started = self.oldest_started(target)
        return None if started is None else max(0.0, now - started)

    def live(self, target: str, now: float) -> int:
        """Calls of ``target`` in flight that are not overdue at ``now``."""
        return sum(1 for t in self._calls.get(target, {}).values() if now <= t.live_until)

    def last_ended(self, target: str) -> float | None:
        """Unix s the last call of ``target`` ended, ``None`` if none has in this process."""
        return self._ended.get(target)

    def last_active(self, target: str, now: float) -> float | None:
        """Latest moment ``target`` had a call: ``now`` while a live call is in flight, else when the
        last call ended (``None``: no call ended or running in this process)."""
        return now if self.live(target, now) else self.last_ended(target)
