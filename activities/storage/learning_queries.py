"""Outcome aggregates for learning, in SQL (SQLite and PostgreSQL), per (task type, target).

:meth:`OutcomeAggregator.stats` reads the window ``(now - periods * period_s, now]`` and returns
one :class:`core.learning.model.ArmStats` per (task type, target) with:

- per-period counts (``age = floor((now - created_at) / period_s)``): answers, failures that
  count against the target (``counts_against_health``), answers with quality flags, thumbs up and
  down, cost (USD) and output tokens of answers. Caller errors and capacity signals (429) are not
  the target's quality and are left out, as health leaves them out (RESILIENCE.md R1.1);
- latency p50/p95 and time-to-first-token p50 of answers (nearest-rank percentiles computed with
  window functions, so both databases give the same numbers);
- ``left_to_health``: outcomes seen while the target was degraded (R10.4: they are health's
  business, not learning's).

The two inputs owned by the health layer (issue 6), the target's state at each outcome and user
feedback, come from ``activities/storage/learning_signals.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.functions import FunctionElement

from activities.storage.learning_signals import feedback_join, healthy_at_outcome
from activities.storage.tables import outcomes
from core.learning.model import ArmStats, PeriodCounts

o = outcomes.c


class floor_div(FunctionElement):  # noqa: N801 - SQL function style
    """``floor(a / b)`` as an integer, for non-negative ``a`` and positive ``b``."""

    type = sa.Integer()
    inherit_cache = True
    name = "floor_div"


@compiles(floor_div)
def _floor_div(element: floor_div, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(FLOOR(({a}) / ({b})) AS INTEGER)"


@compiles(floor_div, "sqlite")
def _floor_div_sqlite(element: floor_div, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(({a}) / ({b}) AS INTEGER)"  # truncation == floor for non-negative values


def _sum_if(cond: sa.ColumnElement[bool], value: sa.ColumnElement | int | float = 1) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((cond, value), else_=0)), 0)


def _percentiles(source: FromClause, where: sa.ColumnElement[bool], col: sa.Column,
                 qs: Sequence[int]) -> sa.Select:
    """Nearest-rank percentiles of ``col`` per (task type, target): the smallest value whose rank
    is at least ``q/100 * n`` (row_number/count window functions, available on both databases)."""
    part = (o.task_type, o.target)
    inner = (sa.select(o.task_type, o.target, col.label("v"),
                       sa.func.row_number().over(partition_by=part, order_by=col).label("rn"),
                       sa.func.count().over(partition_by=part).label("n"))
             .select_from(source).where(where, col.is_not(None)).subquery())
    cols = [sa.func.min(sa.case((inner.c.rn >= q / 100.0 * inner.c.n, inner.c.v))).label(f"p{q}") for q in qs]
    return sa.select(inner.c.task_type, inner.c.target, *cols).group_by(inner.c.task_type, inner.c.target)


class OutcomeAggregator:
    """Aggregates outcome rows for learning (see module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def stats(self, task_types: Sequence[str], now: float, period_s: float, periods: int) -> list[ArmStats]:
        """Per (task type, target) stats over the window; pairs without outcomes are absent."""
        if not task_types:
            return []
        start = now - periods * period_s
        in_window = sa.and_(o.created_at > start, o.created_at <= now, o.task_type.in_(list(task_types)),
                            sa.or_(o.status_class == "ok", o.counts_against_health.is_(True)),
                            o.cache.is_(None))  # an answer served from the response cache rates no target
        healthy = healthy_at_outcome()
        source, up, down = feedback_join(outcomes)
        ok = sa.and_(healthy, o.status_class == "ok")
        age = floor_div(sa.literal(now, sa.Float) - o.created_at, sa.literal(period_s, sa.Float))
        buckets = (sa.select(o.task_type, o.target, age.label("age"), _sum_if(ok).label("ok"),
                             _sum_if(sa.and_(healthy, o.status_class != "ok")).label("failures"),
                             _sum_if(sa.and_(ok, o.quality_flags != "")).label("flagged"),
                             _sum_if(ok, up).label("up"), _sum_if(ok, down).label("down"),
                             _sum_if(ok, o.cost_usd).label("cost"), _sum_if(ok, o.completion_tokens).label("tokens"),
                             _sum_if(sa.not_(healthy)).label("left"))
                   .select_from(source).where(in_window).group_by(o.task_type, o.target, age))
        answers = sa.and_(in_window, ok)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(buckets)).all()
            lat = {(r.task_type, r.target): r for r in await conn.execute(
                _percentiles(source, answers, o.latency_ms, (50, 95)))}
            ttft = {(r.task_type, r.target): r for r in await conn.execute(
                _percentiles(source, answers, o.ttft_ms, (50,)))}
        return _assemble(rows, lat, ttft, periods)


def _assemble(rows: Sequence[sa.Row], lat: dict, ttft: dict, periods: int) -> list[ArmStats]:
    out: dict[tuple[str, str], ArmStats] = {}
    for r in rows:
        key = (r.task_type, r.target)
        arm = out.setdefault(key, ArmStats(task_type=r.task_type, target=r.target))
        arm.left_to_health += int(r.left)
        if int(r.ok) + int(r.failures) == 0:
            continue
        arm.periods.append(PeriodCounts(age=min(max(int(r.age), 0), periods - 1), ok=int(r.ok),
                                        failures=int(r.failures), flagged=int(r.flagged), votes_up=int(r.up),
                                        votes_down=int(r.down), cost_usd=float(r.cost), output_tokens=int(r.tokens)))
    for key, arm in out.items():
        arm.periods.sort(key=lambda p: p.age)
        if key in lat:
            arm.latency_p50_ms, arm.latency_p95_ms = lat[key].p50, lat[key].p95
        if key in ttft:
            arm.ttft_p50_ms = ttft[key].p50
    return sorted(out.values(), key=lambda a: (a.task_type, a.target))
