"""Drill results and eval scores in SQL (tables in ``activities/storage/drill_tables.py``).

:meth:`DrillStore.record` writes a :class:`core.drill.TrialReport` (idempotent per run and
target); :meth:`DrillStore.latest_by_target` is what health views show next to each target;
:meth:`DrillStore.eval_periods` is the learning workflow's quality signal from eval runs and drills.
No answer text is stored: only scores, rates, latencies and the missed thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.drill_tables import drill_results, eval_scores
from activities.storage.upsert import upsert_stmt
from core.drill import TrialReport


class DrillRow(BaseModel):
    """One stored drill result of one target (see ``drill_tables.py`` for the columns)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    route: str
    target: str
    role: str
    passed: bool | None
    score: float
    primary_score: float
    success_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    samples: int
    reasons: list[str]
    created_at: float


def _row(r: sa.Row) -> DrillRow:
    d = dict(r._mapping)
    d.pop("id", None)
    d["reasons"] = json.loads(d["reasons"] or "[]")
    return DrillRow.model_validate(d)


class DrillStore:
    """Reads and writes drill results and eval scores on ``engine``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, report: TrialReport) -> None:
        """Store the report: one ``eval_scores`` row per target (not for a live drill: its
        outcomes already reach learning as outcome rows); for a drill also one ``drill_results``
        row per target. A second call for the same run changes nothing."""
        scores = [{"run_id": report.run_id, "kind": report.kind, "task_type": report.route, "target": s.target,
                   "samples": s.samples, "score_sum": s.mean_score * s.samples, "created_at": report.created_at}
                  for s in report.summaries if s.samples and not report.live]
        verdicts = {v.target: v for v in report.verdicts}
        primary = next((s for s in report.summaries if s.role == "primary"), None)
        drills = [{"run_id": report.run_id, "route": report.route, "target": s.target, "role": s.role,
                   "passed": verdicts[s.target].passed if s.target in verdicts else None, "score": s.mean_score,
                   "primary_score": primary.mean_score if primary else 0.0, "success_rate": s.success_rate,
                   "latency_p50_ms": s.latency_p50_ms, "latency_p95_ms": s.latency_p95_ms, "samples": s.samples,
                   "reasons": json.dumps(verdicts[s.target].reasons if s.target in verdicts else []),
                   "created_at": report.created_at}
                  for s in report.summaries] if report.kind == "drill" else []
        async with self._engine.begin() as conn:
            if scores:
                await conn.execute(upsert_stmt(conn, eval_scores, scores, ("run_id", "target"), update=[]))
            if drills:
                await conn.execute(upsert_stmt(conn, drill_results, drills, ("run_id", "target"), update=[]))

    async def latest_by_target(self) -> dict[str, DrillRow]:
        """The most recent drill result of each target (any route), by target id."""
        latest = (sa.select(drill_results.c.target, sa.func.max(drill_results.c.created_at).label("at"))
                  .group_by(drill_results.c.target).subquery())
        q = sa.select(drill_results).join(latest, sa.and_(drill_results.c.target == latest.c.target,
                                                          drill_results.c.created_at == latest.c.at))
        async with self._engine.connect() as conn:
            rows = [_row(r) for r in await conn.execute(q)]
        return {r.target: r for r in sorted(rows, key=lambda r: r.created_at)}

    async def history(self, route: str | None = None, limit: int = 50) -> list[DrillRow]:
        """Drill results, newest first (optionally of one route)."""
        q = sa.select(drill_results).order_by(drill_results.c.created_at.desc(), drill_results.c.id).limit(limit)
        if route is not None:
            q = q.where(drill_results.c.route == route)
        async with self._engine.connect() as conn:
            return [_row(r) for r in await conn.execute(q)]

    async def eval_periods(self, task_types: Sequence[str], now: float, period_s: float,
                           periods: int) -> dict[tuple[str, str], list[tuple[int, float, float]]]:
        """``(task type, target) -> [(age, good, bad), ...]`` over the learning window ending at
        ``now`` (unix s): per period, the sum of eval and drill scores (good) and of their
        complements (bad), so an answer scored 0.7 counts 0.7 good and 0.3 bad."""
        if not task_types:
            return {}
        start = now - periods * period_s
        q = sa.select(eval_scores.c.task_type, eval_scores.c.target, eval_scores.c.created_at,
                      eval_scores.c.samples, eval_scores.c.score_sum).where(
            eval_scores.c.created_at > start, eval_scores.c.created_at <= now,
            eval_scores.c.task_type.in_(list(task_types)))
        out: dict[tuple[str, str], dict[int, list[float]]] = {}
        async with self._engine.connect() as conn:
            for r in await conn.execute(q):
                age = min(max(int((now - r.created_at) // period_s), 0), periods - 1)
                cell = out.setdefault((r.task_type, r.target), {}).setdefault(age, [0.0, 0.0])
                cell[0] += r.score_sum
                cell[1] += r.samples - r.score_sum
        return {k: sorted((a, g, b) for a, (g, b) in v.items()) for k, v in out.items()}
