"""Per-target call counters, served by ``GET /_sim/stats``.

Shape of :meth:`Stats.snapshot`::

    {"targets": {"openai/gpt-4o@us-east": {"calls": 3, "by_status": {"200": 2, "503": 1},
                 "disconnects": 0, "resets": 0, "hangs": 0, "rate_limited": 0, "stream_cuts": 0,
                 "corrupted": 0, "stream_faults": {"cut": 0, "stall": 0, "error_event": 0, "malformed": 0,
                 "no_final": 0, "tool_cut": 0}}},
     "unmatched": {"calls": 1, "by_status": {"404": 1}}}

``calls`` counts generation requests (not model listings) as they arrive; ``by_status`` counts the
HTTP status of each response as it starts; ``disconnects`` counts clients that went away before the
answer was complete; ``resets`` connections the simulator dropped on purpose; ``stream_cuts`` the
streams cut by ``stream_cut_share``; ``stream_faults`` the streams that reached their ``stream_fault``,
by kind. Requests that match no
target (unknown model, unreadable body) count under ``unmatched``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from simulator.scenario import STREAM_FAULTS

COUNTERS = ("disconnects", "resets", "hangs", "rate_limited", "stream_cuts", "corrupted")


@dataclass
class TargetStats:
    """Counters of one target."""

    calls: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    counters: Counter[str] = field(default_factory=Counter)
    stream_faults: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict:
        """Plain-JSON form."""
        out: dict = {"calls": self.calls, "by_status": dict(sorted(self.by_status.items()))}
        out.update({name: self.counters[name] for name in COUNTERS})
        out["stream_faults"] = {kind: self.stream_faults[kind] for kind in STREAM_FAULTS}
        return out


class Stats:
    """Counters for every target plus ``unmatched``."""

    def __init__(self) -> None:
        self._targets: dict[str, TargetStats] = {}
        self._unmatched = TargetStats()

    def _get(self, target: str | None) -> TargetStats:
        if target is None:
            return self._unmatched
        return self._targets.setdefault(target, TargetStats())

    def call(self, target: str | None) -> None:
        """Count one arriving generation request."""
        self._get(target).calls += 1

    def status(self, target: str | None, status: int) -> None:
        """Count the HTTP status of a response that started."""
        self._get(target).by_status[str(status)] += 1

    def bump(self, target: str | None, counter: str) -> None:
        """Increment one of :data:`COUNTERS`."""
        if counter not in COUNTERS:
            raise KeyError(counter)
        self._get(target).counters[counter] += 1

    def stream_fault(self, target: str | None, kind: str) -> None:
        """Count one stream that reached its stream fault ``kind`` (one of ``STREAM_FAULTS``)."""
        if kind not in STREAM_FAULTS:
            raise KeyError(kind)
        self._get(target).stream_faults[kind] += 1

    def snapshot(self, targets: list[str]) -> dict:
        """Counters of every known target (zeros included) and of unmatched requests."""
        return {
            "targets": {t: self._get(t).as_json() for t in targets},
            "unmatched": {"calls": self._unmatched.calls,
                          "by_status": dict(sorted(self._unmatched.by_status.items()))},
        }

    def clear(self) -> None:
        """Zero every counter."""
        self._targets.clear()
        self._unmatched = TargetStats()
