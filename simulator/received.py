"""The last requests each target received, as ``GET /_sim/requests`` shows them.

For drills and tests that check *what* a target was sent (the prompt variant of a failover target,
a repair call): per target, the newest :data:`KEEP` generation requests, oldest first, each as
``{"system": ..., "last_user": ..., "messages": N, "json_asked": bool}`` (``system``: the request's
system text as the protocol carries it, joined with blank lines; ``messages``: conversation turns
without the system prompt). Cleared by ``POST /_sim/reset`` and ``POST /_sim/stats/reset``.
"""

from __future__ import annotations

from collections import deque

from simulator.answer import Ask

KEEP = 50


class ReceivedLog:
    """Per-target ring of the last :data:`KEEP` requests (see module docstring)."""

    def __init__(self) -> None:
        self._by_target: dict[str, deque[dict]] = {}

    def add(self, target: str, ask: Ask) -> None:
        """Remember one generation request that reached ``target``."""
        ring = self._by_target.setdefault(target, deque(maxlen=KEEP))
        ring.append({"system": ask.system, "last_user": ask.last_user, "messages": len(ask.turns),
                     "json_asked": ask.json_asked})

    def snapshot(self, target: str | None = None) -> dict[str, list[dict]]:
        """``{target: [request, ...]}`` for every target that received one (or only ``target``)."""
        return {t: list(r) for t, r in self._by_target.items() if target is None or t == target}

    def clear(self) -> None:
        """Forget every request."""
        self._by_target.clear()
