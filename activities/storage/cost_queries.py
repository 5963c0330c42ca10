"""Read the outcome rows a cost report needs (``core/cost_report.py``) for a time window."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.tables import outcomes
from core.cost_report import CostRow


async def cost_rows(engine: AsyncEngine, since: float, until: float, *, tenant: str | None = None,
                    route: str | None = None) -> list[CostRow]:
    """Every call recorded in ``[since, until)`` (unix s), optionally of one tenant or route.

    A request whose calls straddle ``since`` is reported with the calls inside the window only."""
    c = outcomes.c
    q = (sa.select(c.workflow_id, c.run_id, c.seq, c.try_no, c.target, c.task_type, c.tenant, c.status_class,
                   c.prompt_tokens, c.completion_tokens, c.cost_usd)
         .where(c.created_at >= since, c.created_at < until))
    if tenant is not None:
        q = q.where(c.tenant == tenant)
    if route is not None:
        q = q.where(c.task_type == route)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    # a request re-run under the same workflow id (a failed keyed request run again) is its own request
    return [CostRow(workflow_id=f"{r.workflow_id}/{r.run_id}", seq=r.seq, try_no=r.try_no, target=r.target,
                    task_type=r.task_type, tenant=r.tenant, status_class=r.status_class,
                    prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens, cost_usd=r.cost_usd)
            for r in rows]
