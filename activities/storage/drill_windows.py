"""Live-traffic drill windows (table ``drill_windows``): open one, read the open ones for planning,
measure the route's live outcomes of a window.

:meth:`DrillWindows.active` is on the planning hot path: it reads the database at most once per
``ttl_s`` (1 s) per process, so a window opened by the drill workflow reaches every worker's
planning within about a second; when the table cannot be read it logs a warning and plans with the
windows it last read (a live drill never fails a request). :meth:`DrillWindows.measure` reads
the outcome rows of the window (the route's task type, drill and eval requests left out) and
summarises each target the way learning counts them: answers and failures that count against it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.drill_tables import drill_windows
from activities.storage.tables import outcomes
from activities.storage.upsert import upsert_stmt
from core.canary import LiveDrill
from core.drill import TRIAL_TENANT, LiveRow, Role, TargetSummary, live_summary

_log = logging.getLogger(__name__)


class DrillWindows:
    """Drill windows on ``engine``; ``clock`` returns unix seconds."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time, ttl_s: float = 1.0) -> None:
        self._engine = engine
        self._clock = clock
        self._ttl_s = ttl_s
        self._cached: list[LiveDrill] = []
        self._read_at = -1e18

    async def open(self, window: LiveDrill) -> None:
        """Store the window (a second call for the same run and target changes nothing)."""
        async with self._engine.begin() as conn:
            await conn.execute(upsert_stmt(conn, drill_windows, window.model_dump(), ("run_id", "target"), update=[]))

    async def active(self) -> dict[str, list[LiveDrill]]:
        """Open windows by route, oldest first (overlapping drills take consecutive bands of the
        draw, ``core/plan.py``), read at most once per ``ttl_s``."""
        now = self._clock()
        if now - self._read_at < self._ttl_s:
            return self._open(now)
        q = sa.select(drill_windows).where(drill_windows.c.ends_at > now).order_by(drill_windows.c.starts_at)
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(q)).all()
        except SQLAlchemyError as e:  # a live drill is optional: never fail a request's planning over it
            _log.warning("drill windows unreadable, planning without live drills: %s", type(e).__name__)
            self._read_at = now
            return self._open(now)
        self._cached = [LiveDrill.model_validate({k: v for k, v in r._mapping.items() if k != "id"}) for r in rows]
        self._read_at = now
        return self._open(now)

    def _open(self, now: float) -> dict[str, list[LiveDrill]]:
        out: dict[str, list[LiveDrill]] = {}
        for w in self._cached:
            if w.starts_at <= now < w.ends_at:
                out.setdefault(w.route, []).append(w)
        return out

    async def measure(self, route: str, roles: dict[str, Role], start: float, end: float) -> list[TargetSummary]:
        """Summaries of ``roles``' targets (target -> role) over the route's live outcomes in
        ``[start, end)`` (unix s); a target with no rows gets a summary with 0 samples."""
        o = outcomes.c
        q = sa.select(o.target, o.status_class, o.latency_ms, o.quality_flags).where(
            o.task_type == route, o.target.in_(list(roles)), o.created_at >= start, o.created_at < end,
            o.tenant != TRIAL_TENANT, o.cache.is_(None),
            sa.or_(o.status_class == "ok", o.counts_against_health.is_(True)))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        by: dict[str, list[LiveRow]] = {t: [] for t in roles}
        for r in rows:
            by[r.target].append(LiveRow(ok=r.status_class == "ok", latency_ms=r.latency_ms,
                                        flagged=bool(r.quality_flags)))
        return [live_summary(t, role, by[t]) for t, role in roles.items()]
