"""Share health across worker processes through the database.

Every ``interval_s`` (1 s) the loop: reads outcome, probe and feedback rows other processes wrote
since the last pass and feeds them to the :class:`~activities.health.monitor.HealthMonitor`
(so a second worker sees a dead target about a second after the first one recorded it), runs
the board's timers and the prober, and every ``publish_s`` (2 s) upserts each target's view and
tracker state into ``health_targets`` (what ``switchyard health`` shows and what a restarted
worker resumes from, :meth:`HealthSync.start`).

New rows are found by primary key: ``id > floor``, where the floor is the highest id seen at
least ``lag_s`` (5 s) ago, and ids already fed are remembered above it. A row whose id was handed
out before a higher one but committed later (PostgreSQL sequences) is still picked up if it
commits within ``lag_s``: our inserts are single-row transactions of a few ms.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from activities.health.monitor import HealthMonitor
from activities.storage.health import HealthStore
from core.cache import CACHE_TARGET
from core.health.signals import Vote, observe

log = logging.getLogger("switchyard.health")
TABLES = ("outcomes", "health_probes", "feedback")


class HealthSync:
    """See module docstring. ``prober``: an object with ``tick()`` run on every pass, or ``None``."""

    def __init__(self, monitor: HealthMonitor, store: HealthStore, *, worker_id: str | None = None,
                 interval_s: float = 1.0, publish_s: float = 2.0, lag_s: float = 5.0, prober: Any = None) -> None:
        self.monitor = monitor
        self.store = store
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:8]}"
        self.interval_s, self.publish_s, self.lag_s = interval_s, publish_s, lag_s
        self.prober = prober
        self._floors: dict[str, int] = {}
        self._seen: dict[str, set[int]] = {t: set() for t in TABLES}
        self._marks: deque[tuple[float, dict[str, int]]] = deque()
        self._published = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self.started = False

    async def start(self) -> None:
        """Resume the last published trackers, then start the loop (idempotent)."""
        if self.started:
            return
        self.started = True
        for target, (_, state) in (await self.store.trackers()).items():
            try:
                self.monitor.board.restore(target, state)
            except ValueError as e:  # a tracker written by an incompatible version: start fresh
                log.warning("health state of %s not restored: %s", target, e)
        self._floors = await self.store.max_ids()
        self._task = asyncio.create_task(self._loop(), name="switchyard-health-sync")

    async def aclose(self) -> None:
        """Stop the loop and publish once more."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.prober is not None:
            await self.prober.aclose()
        if self.started:
            try:
                await self.publish()
            except SQLAlchemyError as e:
                log.warning("final health publish failed: %s", e)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.sync_once()
            except (SQLAlchemyError, OSError) as e:
                log.warning("health sync failed (will retry): %s", e)
            asked = loop.time()
            await asyncio.sleep(self.interval_s)
            self.monitor.note_loop_lag(loop.time() - asked - self.interval_s)

    async def sync_once(self) -> int:
        """One pass (see module docstring); returns the number of rows fed."""
        fed = await self.pull()
        now = self.monitor.now()
        self.monitor.board.tick(now)
        if self.prober is not None:
            self.prober.tick()
        if now - self._published >= self.publish_s:
            await self.publish()
        return fed

    async def publish(self) -> None:
        await self.store.publish(self.monitor.snapshot(), self.worker_id)
        self._published = self.monitor.now()

    async def pull(self) -> int:
        """Feed rows written since the last pass by other processes."""
        rows = await self.store.rows_after(self._floors)
        fed = 0
        for table in TABLES:
            seen = self._seen[table]
            for r in rows[table]:
                if r.id in seen:
                    continue
                seen.add(r.id)
                fed += self._feed(table, r)
        self._advance()
        return fed

    def _feed(self, table: str, r: Any) -> int:
        m = self.monitor
        if table == "outcomes":
            if m.is_own(r.workflow_id, r.seq, r.try_no) or r.target == CACHE_TARGET:
                return 0  # the response cache's rows are no target's health
            m.observe(observe(r.target, r.created_at, r.status_class, counts_against_health=r.counts_against_health,
                              latency_ms=r.latency_ms, ttft_ms=r.ttft_ms, output_tokens=r.completion_tokens,
                              quality_flags=r.quality_flags))
        elif table == "health_probes":
            if r.worker == self.worker_id:
                return 0
            m.observe(observe(r.target, r.created_at, r.status_class, latency_ms=r.latency_ms,
                              output_tokens=r.completion_tokens, quality_flags=r.quality_flags, probe=True))
        else:
            if not r.target:
                return 0
            m.vote(Vote(target=r.target, at=r.created_at, positive=bool(r.positive)))
        return 1

    def _advance(self) -> None:
        now = self.monitor.now()
        highest = {t: max([self._floors.get(t, 0), *self._seen[t]]) for t in TABLES}
        self._marks.append((now, highest))
        while self._marks and self._marks[0][0] <= now - self.lag_s:
            _, mark = self._marks.popleft()
            self._floors = mark
        for t in TABLES:
            floor = self._floors.get(t, 0)
            self._seen[t] = {i for i in self._seen[t] if i > floor}
