"""Health storage: published views, probe outcomes, user feedback, and the reads other workers,
the CLI and the learning layer use (tables in ``activities/storage/health_tables.py``).

Reads for the learning layer (issue 7) are :meth:`HealthStore.current` (state, score, breaker,
share and reasons per target right now) and the ``outcomes.health_state`` column (the state when
each call was made; :func:`learnable` is the rule). Times are unix seconds.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.health_tables import feedback, health_probes, health_targets
from activities.storage.tables import outcomes
from activities.storage.upsert import upsert_stmt
from core.health.view import TargetView


def learnable(health_state: str | None) -> bool:
    """Whether an outcome belongs to learning (RESILIENCE.md R10.4): seen while its target was
    healthy (``None``: recorded before the health layer existed)."""
    return health_state in (None, "healthy")


class UnknownRequest(LookupError):
    """Feedback names a workflow id with no answered outcome."""


class FeedbackRecord(BaseModel):
    """One stored vote: the request, the vote, and the outcome row it judges."""

    workflow_id: str
    positive: bool
    target: str
    seq: int | None = None
    try_no: int | None = None
    task_type: str = ""
    comment: str = ""
    created_at: float


class HealthStore:
    """Reads and writes through an injected async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def publish(self, rows: list[tuple[TargetView, dict[str, Any]]], worker: str) -> None:
        """Upsert each target's view and tracker state."""
        if not rows:
            return
        values = [{"target": v.target, "state": v.state, "level": v.level, "score": v.score, "breaker": v.breaker,
                   "share": v.share, "reasons": json.dumps(v.reasons), "tracker": json.dumps(state),
                   "updated_at": v.updated_at, "worker": worker} for v, state in rows]
        async with self.engine.begin() as conn:
            await conn.execute(upsert_stmt(conn, health_targets, values, ["target"]))

    async def current(self) -> dict[str, TargetView]:
        """The last published view of every target (what ``switchyard health`` shows)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(health_targets).order_by(health_targets.c.target))).all()
        return {r.target: TargetView(target=r.target, state=r.state, level=r.level, score=r.score,
                                     breaker=r.breaker, share=r.share, reasons=json.loads(r.reasons),
                                     updated_at=r.updated_at, **_extra(r.tracker)) for r in rows}

    async def trackers(self) -> dict[str, tuple[float, dict[str, Any]]]:
        """target -> (updated_at, tracker state) for a restarting worker."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(health_targets.c.target, health_targets.c.updated_at,
                                                 health_targets.c.tracker))).all()
        return {r.target: (r.updated_at, json.loads(r.tracker)) for r in rows if r.tracker not in ("", "{}")}

    async def record_probe(self, values: dict[str, Any]) -> None:
        """Insert one probe outcome (``health_probes`` columns)."""
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(health_probes).values(**values))

    async def max_ids(self) -> dict[str, int]:
        """Highest id of ``outcomes``, ``health_probes`` and ``feedback`` (0 when empty)."""
        async with self.engine.connect() as conn:
            return {t.name: int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0)))).scalar())
                    for t in (outcomes, health_probes, feedback)}

    async def rows_after(self, floors: dict[str, int], limit: int = 5000) -> dict[str, list[Any]]:
        """Rows with ``id > floors[table]`` of the three tables, by id."""
        cols = {"outcomes": [outcomes.c.id, outcomes.c.target, outcomes.c.status_class,
                             outcomes.c.counts_against_health, outcomes.c.latency_ms, outcomes.c.ttft_ms,
                             outcomes.c.completion_tokens, outcomes.c.quality_flags, outcomes.c.created_at,
                             outcomes.c.workflow_id, outcomes.c.seq, outcomes.c.try_no],
                "health_probes": [health_probes.c.id, health_probes.c.target, health_probes.c.status_class,
                                  health_probes.c.latency_ms, health_probes.c.completion_tokens,
                                  health_probes.c.quality_flags, health_probes.c.created_at, health_probes.c.worker],
                "feedback": [feedback.c.id, feedback.c.workflow_id, feedback.c.target, feedback.c.positive,
                             feedback.c.created_at]}
        out: dict[str, list[Any]] = {}
        async with self.engine.connect() as conn:
            for name, table in (("outcomes", outcomes), ("health_probes", health_probes), ("feedback", feedback)):
                q = sa.select(*cols[name]).where(table.c.id > floors.get(name, 0)).order_by(table.c.id).limit(limit)
                out[name] = list((await conn.execute(q)).all())
        return out

    async def record_feedback(self, workflow_id: str, positive: bool, comment: str, now: float,
                              tenant: str | None = None) -> FeedbackRecord:
        """Store a vote on the answer of ``workflow_id`` (the latest ``ok`` outcome row); a later vote
        replaces an earlier one. ``tenant``: only that tenant's requests (gateway callers). Raises
        :class:`UnknownRequest` when the request has no answer (or belongs to another tenant)."""
        q = (sa.select(outcomes.c.target, outcomes.c.seq, outcomes.c.try_no, outcomes.c.task_type)
             .where(outcomes.c.workflow_id == workflow_id, outcomes.c.status_class == "ok")
             .order_by(outcomes.c.seq.desc(), outcomes.c.try_no.desc()).limit(1))
        if tenant is not None:
            q = q.where(outcomes.c.tenant == tenant)
        async with self.engine.begin() as conn:
            row = (await conn.execute(q)).first()
            if row is None:
                raise UnknownRequest(f"no answered request with workflow id {workflow_id!r}")
            rec = FeedbackRecord(workflow_id=workflow_id, positive=positive, target=row.target, seq=row.seq,
                                 try_no=row.try_no, task_type=row.task_type, comment=comment[:500], created_at=now)
            await conn.execute(sa.delete(feedback).where(feedback.c.workflow_id == workflow_id))
            await conn.execute(sa.insert(feedback).values(**rec.model_dump()))
        return rec


def _extra(tracker_json: str) -> dict[str, Any]:
    """Fields of the view that live in the tracker state (relapses, open wait end)."""
    try:
        breaker = json.loads(tracker_json).get("breaker", {})
    except ValueError:
        return {}
    out: dict[str, Any] = {"relapses": breaker.get("relapses", 0)}
    if breaker.get("state") == "open":
        out["open_until"] = breaker.get("open_until")
    return out
