"""The two inputs learning takes from the health layer (issue 6), as SQL pieces for
``learning_queries.py``: "was the target healthy at this outcome" and "the user's vote on it".

- **healthy at the outcome**: ``outcomes.health_state`` records the target's state when the call
  was made (``activities/storage/health_tables.py``). Learning uses ``healthy`` rows and rows
  without a state (recorded with health off, or before it existed), the same rule as
  :func:`activities.storage.health.learnable`; ``degraded`` and ``down`` rows belong to health
  (RESILIENCE.md R10.4).
- **feedback**: the ``feedback`` table holds one vote per request workflow (latest wins) with the
  outcome row it judges; a vote counts for that row.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import FromClause

from activities.storage.health_tables import feedback
from activities.storage.tables import outcomes

#: Health states whose outcomes learning uses (R10.1: HEALTHY or WARN; WARN shows as healthy).
LEARNABLE_STATES = ("healthy",)


def healthy_at_outcome() -> sa.ColumnElement[bool]:
    """True for outcome rows seen while the target was healthy (or with no recorded state)."""
    state = outcomes.c.health_state
    return sa.or_(state.is_(None), state.in_(LEARNABLE_STATES))


def feedback_join(source: FromClause) -> tuple[FromClause, sa.ColumnElement, sa.ColumnElement]:
    """``(from clause, up, down)``: ``source`` (outcomes, possibly joined) left-joined to the vote on
    each row, and 0/1 expressions for a thumbs up / down on that row. A vote without ``seq`` (the
    judged attempt unknown) counts for the workflow's answer from that target."""
    judged = sa.and_(feedback.c.workflow_id == outcomes.c.workflow_id, feedback.c.target == outcomes.c.target,
                     sa.or_(feedback.c.seq.is_(None),
                            sa.and_(feedback.c.seq == outcomes.c.seq, feedback.c.try_no == outcomes.c.try_no)))
    up = sa.case((feedback.c.positive.is_(True), 1), else_=0)
    down = sa.case((feedback.c.positive.is_(False), 1), else_=0)
    return source.outerjoin(feedback, judged), up, down
