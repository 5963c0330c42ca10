"""What the dashboard shows (``worker/gateway/dashboard.py``), read from the shared database.

Everything comes from tables every worker and gateway already writes, so any replica's dashboard
shows the whole deployment: ``health_targets`` (health per target), ``outcomes`` (latency
percentiles, failovers, cost, cache hits, quality flags) and ``alert_events``. One call of
:func:`dashboard_data` returns the JSON-ready dict; times are unix seconds, latencies ms, cost USD.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.alerts.signals import CACHE_PROVIDER
from activities.storage.alert_tables import alert_events
from activities.storage.health import HealthStore
from activities.storage.tables import outcomes
from core.stats import percentile

c = outcomes.c
MAX_ROWS = 50_000  # outcome rows read per refresh at most (the newest); the window shrinks beyond it
RECENT_FAILOVERS = 30


async def dashboard_data(engine: AsyncEngine, now: float, *, window_s: float = 3600.0,
                         bucket_s: float = 60.0) -> dict[str, Any]:
    """The dashboard's data for ``[now - window_s, now)`` in buckets of ``bucket_s`` seconds:
    ``health``, ``latency`` (p50/p95/p99 per target), ``failovers`` (per bucket and reason, and the
    latest events with their workflow ids), ``cost`` (per bucket, per route and per tenant),
    ``cache`` (hit rate per route), ``quality`` (flagged share per target), ``alerts``."""
    since = now - window_s
    q = (sa.select(c.workflow_id, c.run_id, c.seq, c.try_no, c.target, c.provider, c.task_type, c.tenant,
                   c.status_class, c.latency_ms, c.cost_usd, c.quality_flags, c.created_at)
         .where(c.created_at >= since, c.created_at < now).order_by(c.created_at.desc()).limit(MAX_ROWS))
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
        alerts = (await conn.execute(sa.select(alert_events).order_by(alert_events.c.id.desc()).limit(50)))\
            .mappings().all()
    health = await HealthStore(engine).current()
    buckets = [since + i * bucket_s for i in range(int(window_s // bucket_s) + 1)]

    def bucket(t: float) -> int:
        return min(int((t - since) // bucket_s), len(buckets) - 1)

    return {
        "now": now, "window_s": window_s, "bucket_s": bucket_s, "buckets": buckets,
        "health": [{"target": v.target, "state": v.state, "level": v.level, "score": round(v.score, 3),
                    "breaker": v.breaker, "share": round(v.share, 3), "reasons": v.reasons,
                    "updated_at": v.updated_at} for v in health.values()],
        "latency": _latency(rows),
        **_requests(rows, bucket, len(buckets)),
        "quality": _quality(rows),
        "alerts": [{k: a[k] for k in ("rule", "subject", "status", "value", "threshold", "at", "message")}
                   for a in alerts],
        "firing": _firing(alerts),
    }


def _latency(rows: list) -> list[dict[str, Any]]:
    per: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.status_class == "ok" and r.provider != CACHE_PROVIDER:
            per[r.target].append(r.latency_ms)
    return [{"target": t, "calls": len(v), "p50_ms": round(percentile(v, 50), 1), "p95_ms": round(percentile(v, 95), 1),
             "p99_ms": round(percentile(v, 99), 1)} for t, v in sorted(per.items())]


def _requests(rows: list, bucket, n: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    calls: dict[str, list] = defaultdict(list)
    for r in rows:
        calls[f"{r.workflow_id}/{r.run_id}"].append(r)
    failovers: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    cost_route: dict[str, list[float]] = defaultdict(lambda: [0.0] * n)
    cost_tenant: dict[str, float] = defaultdict(float)
    cache: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # route -> [hits, requests]
    recent = []
    for req in calls.values():
        req.sort(key=lambda r: (r.seq, r.try_no))
        first, last = req[0], req[-1]
        b = bucket(first.created_at)
        hit = any(r.provider == CACHE_PROVIDER for r in req)
        cache[first.task_type][0] += hit
        cache[first.task_type][1] += 1
        for r in req:
            cost_route[r.task_type][bucket(r.created_at)] += r.cost_usd
            cost_tenant[r.tenant] += r.cost_usd
        if last.seq > 1:
            reason = next((r.status_class for r in req if r.seq == 1 and r.status_class != "ok"), "unknown")
            failovers[reason][b] += 1
            recent.append({"workflow_id": first.workflow_id, "at": first.created_at, "route": first.task_type,
                           "reason": reason, "from": first.target, "to": last.target,
                           "answered": last.status_class == "ok"})
    recent.sort(key=lambda e: -e["at"])
    return {
        "failovers": {"by_reason": dict(failovers), "recent": recent[:RECENT_FAILOVERS],
                      "total": sum(sum(v) for v in failovers.values())},
        "cost": {"by_route": {k: [round(x, 6) for x in v] for k, v in cost_route.items()},
                 "by_tenant": {k: round(v, 6) for k, v in sorted(cost_tenant.items(), key=lambda kv: -kv[1])},
                 "total_usd": round(sum(cost_tenant.values()), 6)},
        "cache": [{"route": k, "hits": h, "requests": n_, "hit_rate": h / n_ if n_ else 0.0}
                  for k, (h, n_) in sorted(cache.items())],
        "requests": len(calls),
    }


def _quality(rows: list) -> list[dict[str, Any]]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r.status_class == "ok" and r.provider != CACHE_PROVIDER:
            per[r.target][0] += bool(r.quality_flags)
            per[r.target][1] += 1
    return [{"target": t, "flagged": f, "answers": n, "flagged_share": f / n if n else 0.0}
            for t, (f, n) in sorted(per.items())]


def _firing(alerts: list) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str], Any] = {}
    for a in reversed(list(alerts)):  # oldest first: the latest event of each (rule, subject) wins
        latest[(a["rule"], a["subject"])] = a
    return [{"rule": a["rule"], "subject": a["subject"], "since": a["at"], "message": a["message"]}
            for a in latest.values() if a["status"] == "firing"]
