"""Windowed statistics of the alert rules (``core.alerts.WindowStats``), read from the outcome rows.

Per target: calls, failures counting against health, answers, checked and flagged answers (an
answer failed over for its flags counts), and the p95 latency
of answers (computed here from the window's latencies; windows are minutes, so a few thousand
rows at most). Per route: requests (distinct request runs), requests that failed over (a call with
``seq > 1``), cache hits (calls whose provider is ``cache``) and spend. Counts are SQL aggregates,
so the hour-long baseline window costs one grouped query, not its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.tables import outcomes
from core.alerts import WindowStats
from core.stats import percentile

CACHE_PROVIDER = "cache"
c = outcomes.c
_REQUEST = c.workflow_id + sa.literal("/") + c.run_id


async def target_stats(engine: AsyncEngine, since: float, until: float) -> dict[str, WindowStats]:
    """``target -> WindowStats`` of the calls recorded in ``[since, until)`` (unix s)."""
    ok = c.status_class == "ok"
    flagged = c.quality_flags != ""  # an answer failed over for its flags keeps them on its row
    q = (sa.select(c.target, sa.func.count(), sa.func.sum(sa.case((c.counts_against_health, 1), else_=0)),
                   sa.func.sum(sa.case((ok, 1), else_=0)),
                   sa.func.sum(sa.case((sa.or_(ok, flagged), 1), else_=0)),
                   sa.func.sum(sa.case((flagged, 1), else_=0)))
         .where(c.created_at >= since, c.created_at < until, c.provider != CACHE_PROVIDER).group_by(c.target))
    lat = (sa.select(c.target, c.latency_ms)
           .where(c.created_at >= since, c.created_at < until, ok, c.provider != CACHE_PROVIDER))
    async with engine.connect() as conn:
        counts = (await conn.execute(q)).all()
        latencies: dict[str, list[float]] = {}
        for target, ms in (await conn.execute(lat)).all():
            latencies.setdefault(target, []).append(ms)
    return {t: WindowStats(calls=n, failures=int(f or 0), answers=int(a or 0), checked=int(ch or 0),
                           flagged=int(fl or 0),
                           p50_ms=percentile(latencies[t], 50) if latencies.get(t) else None,
                           p95_ms=percentile(latencies[t], 95) if latencies.get(t) else None)
            for t, n, f, a, ch, fl in counts}


async def route_stats(engine: AsyncEngine, since: float, until: float) -> dict[str, WindowStats]:
    """``route -> WindowStats`` (requests, failed over, cache hits, spend) of ``[since, until)``."""
    q = (sa.select(c.task_type, sa.func.count(sa.distinct(_REQUEST)),
                   sa.func.count(sa.distinct(sa.case((c.seq > 1, _REQUEST), else_=None))),
                   sa.func.count(sa.distinct(sa.case((c.provider == CACHE_PROVIDER, _REQUEST), else_=None))),
                   sa.func.sum(c.cost_usd))
         .where(c.created_at >= since, c.created_at < until).group_by(c.task_type))
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return {r: WindowStats(requests=n, failed_over=fo, cache_hits=hits, cost_usd=float(cost or 0.0))
            for r, n, fo, hits, cost in rows}
