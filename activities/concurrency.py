"""Live per-target concurrency limiters of one worker process (``core/concurrency.py``'s AIMD).

The attempt activity calls :meth:`TargetLimiters.acquire` before calling a target: it returns a
:class:`Permit`, or ``None`` when the target is at its limit for the request's priority; the
attempt then fails with ``Overloaded`` **without calling the provider** and without counting
against the target's health (the limit is ours, not the target's failure), and the walk moves to
the next target as it does for a busy one. :meth:`Permit.done` feeds the result to the limit.
State lives in the process (asyncio, one event loop): each worker and gateway limits its own calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.admission_config import DEFAULT_SHARES
from core.concurrency import DROP_CLASSES, AimdState, ConcurrencySettings, admits, update
from core.priority import priority_name


@dataclass
class _Target:
    state: AimdState
    in_flight: int = 0


class Permit:
    """One call's place under its target's limit; :meth:`done` exactly once (idempotent)."""

    def __init__(self, limiters: TargetLimiters, target: str) -> None:
        self._limiters, self._target, self._open = limiters, target, True

    def done(self, error_class: str | None, latency_ms: float | None) -> None:
        """The call ended: ``error_class`` ``None`` on success; ``latency_ms`` ``None`` when the
        call gave no sample (cancelled)."""
        if self._open:
            self._open = False
            self._limiters._finish(self._target, error_class, latency_ms)


class _NoLimit(Permit):
    def __init__(self) -> None:
        self._open = False

    def done(self, error_class: str | None, latency_ms: float | None) -> None:
        """Nothing to count."""


#: The permit of a call without a limiter.
NO_LIMIT: Permit = _NoLimit()


class TargetLimiters:
    """AIMD limits per target id (see module docstring). ``settings``: read per call, so a config
    reload applies at once (``mode: off`` admits everything)."""

    def __init__(self, settings: Callable[[], ConcurrencySettings]) -> None:
        self._settings = settings
        self._targets: dict[str, _Target] = {}

    def _get(self, target: str, s: ConcurrencySettings) -> _Target:
        t = self._targets.get(target)
        if t is None:
            t = self._targets[target] = _Target(AimdState(limit=s.initial_limit))
        return t

    def acquire(self, target: str, priority: int | None) -> Permit | None:
        """A permit, or ``None`` at the limit for ``priority`` (Temporal key; ``None``: normal)."""
        s = self._settings()
        if s.mode == "off":
            return NO_LIMIT
        t = self._get(target, s)
        if not admits(t.state.limit, t.in_flight, DEFAULT_SHARES[priority_name(priority)]):
            return None
        t.in_flight += 1
        return Permit(self, target)

    def limit(self, target: str) -> tuple[float, int]:
        """``(limit, in flight)`` of a target (the initial limit for one never called)."""
        t = self._get(target, self._settings())
        return t.state.limit, t.in_flight

    def _finish(self, target: str, error_class: str | None, latency_ms: float | None) -> None:
        t = self._targets[target]
        s = self._settings()
        t.state = update(t.state, s, in_flight=t.in_flight, dropped=error_class in DROP_CLASSES,
                         latency_ms=latency_ms if error_class is None else None)
        t.in_flight -= 1
