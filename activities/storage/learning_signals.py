"""ADAPTER between learning and the health layer (issue 6): "was the target healthy at this
outcome" and "feedback on this answer", as SQL pieces for ``learning_queries.py``.

Both signals belong to the health layer, which was being built alongside learning. Until it
stores them, these functions fall back as follows (and pick the real thing up by themselves when
it appears in the shared ``metadata``):

- **healthy at the outcome**: if ``outcomes`` has a ``health_state`` column (assumed values
  ``healthy``/``degraded``/``down``, ``core/health/view.py``'s states; NULL = unknown, counted
  as healthy), only ``healthy`` rows are learnable. Otherwise a proxy: a target is taken as
  degraded during any minute in which it failed at least half of at least 5 health-counting
  calls (RESILIENCE.md R6.1's failure-rate rule, at minute granularity).
- **feedback**: thumbs up/down keyed by workflow id, from a table named ``feedback`` with
  ``workflow_id`` and a boolean ``positive`` column (assumed), or from an explicit
  :class:`FeedbackSource`. A vote counts for the workflow's answer (its ``ok`` outcome row). Without
  a source there is no feedback and rankings say so in their notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.functions import FunctionElement

from activities.storage.tables import metadata

#: Health states whose outcomes learning uses (R10.1: HEALTHY or WARN; WARN shows as healthy).
LEARNABLE_STATES = ("healthy",)
#: Proxy rule: per target and minute, at least this many health-counting calls ...
PROXY_MIN_CALLS = 5
#: ... of which at least this share failed, marks the minute degraded (R6.1: 50%).
PROXY_FAILURE_RATE = 0.5
PROXY_BUCKET_S = 60.0


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


def health_join(outcomes: sa.Table, start: float, now: float) -> tuple[FromClause, sa.ColumnElement[bool]]:
    """``(from clause, healthy)``: ``outcomes`` (possibly joined) and a boolean SQL expression true
    for rows seen while the target was healthy (see module docstring)."""
    state = outcomes.c.get("health_state")
    if state is not None:
        return outcomes, sa.or_(state.is_(None), state.in_(LEARNABLE_STATES))
    h = outcomes.alias("health_minutes")
    minute = floor_div(h.c.created_at, sa.literal(PROXY_BUCKET_S, sa.Float))
    failed = sa.case((h.c.status_class != "ok", 1), else_=0)
    degraded = (sa.select(h.c.target, minute.label("minute"))
                .where(h.c.created_at > start, h.c.created_at <= now,
                       sa.or_(h.c.status_class == "ok", h.c.counts_against_health.is_(True)))
                .group_by(h.c.target, minute)
                .having(sa.and_(sa.func.count() >= PROXY_MIN_CALLS,
                                sa.func.sum(failed) >= PROXY_FAILURE_RATE * sa.func.count()))
                .subquery("degraded_minutes"))
    on = sa.and_(degraded.c.target == outcomes.c.target,
                 degraded.c.minute == floor_div(outcomes.c.created_at, sa.literal(PROXY_BUCKET_S, sa.Float)))
    return outcomes.outerjoin(degraded, on), degraded.c.target.is_(None)


@dataclass(frozen=True)
class FeedbackSource:
    """Where votes live: ``table`` with a workflow-id column and a boolean "thumbs up" column."""

    table: sa.Table
    workflow_id: str = "workflow_id"
    positive: str = "positive"


def default_feedback() -> FeedbackSource | None:
    """The health layer's ``feedback`` table if it is defined with the assumed columns."""
    table = metadata.tables.get("feedback")
    if table is None or "workflow_id" not in table.c or "positive" not in table.c:
        return None
    return FeedbackSource(table)


def feedback_join(source: FromClause, fb: FeedbackSource | None
                  ) -> tuple[FromClause, sa.ColumnElement, sa.ColumnElement]:
    """``(from clause, up, down)``: ``source`` left-joined to one vote row per workflow, and
    0/1 expressions for a thumbs up / down on the row's workflow (0 and 0 without feedback)."""
    fb = fb or default_feedback()
    if fb is None:
        return source, sa.literal(0), sa.literal(0)
    outcomes = metadata.tables["outcomes"]
    wf, pos = fb.table.c[fb.workflow_id], fb.table.c[fb.positive]
    votes = (sa.select(wf.label("workflow_id"),
                       sa.func.max(sa.case((pos.is_(True), 1), else_=0)).label("up"),
                       sa.func.max(sa.case((pos.is_(False), 1), else_=0)).label("down"))
             .group_by(wf).subquery("votes"))
    joined = source.outerjoin(votes, votes.c.workflow_id == outcomes.c.workflow_id)
    return joined, sa.func.coalesce(votes.c.up, 0), sa.func.coalesce(votes.c.down, 0)
