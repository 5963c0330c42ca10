"""Outcome rows: one per provider call, written by the attempt activity.

Idempotent on ``(workflow_id, run_id, seq, try_no)``: ``seq`` is the workflow's attempt number
(which target of the walk), ``try_no`` is Temporal's retry attempt of that activity. When Temporal
re-runs an activity whose result was never recorded (a worker died mid-task), the re-run
overwrites the row of the same key, so rows always equal recorded attempts. ``run_id`` keeps a
new run of the same workflow id (a gateway retry of a failed keyed request, a batch item re-run)
from overwriting the earlier run's audit rows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.tables import outcomes
from activities.storage.upsert import upsert_template
from core.request import AttemptRecord

KEY = ("workflow_id", "run_id", "seq", "try_no")


class OutcomeRow(BaseModel):
    """One call's outcome. Latencies in ms; cost in USD; ``status_class`` is ``"ok"`` or an
    :class:`core.errors.ErrorClass` value; ``created_at`` in unix seconds."""

    workflow_id: str
    run_id: str = ""
    seq: int
    try_no: int
    target: str
    provider: str
    model: str
    region: str
    task_type: str
    tenant: str
    status_class: str
    http_status: int | None = None
    retry_after_s: float | None = None
    latency_ms: float
    ttft_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False
    cost_usd: float = 0.0
    quality_flags: str = ""
    counts_against_health: bool = False
    message: str = ""
    created_at: float
    health_state: str | None = None  # healthy | degraded | down when the call was made (core/health)
    cache: str | None = None  # hit | stale: served from the response cache (target "cache", nothing billed)
    saved_usd: float = 0.0  # a cached answer's saving: what the original answer cost (USD)
    prompt_variant: str | None = None  # the route's prompt variant sent (core/prompt_variants.py)
    prompt_rewrite: str | None = None  # the id of the stored prompt rewrite sent (core/prompt_transform.py)
    normalized: str | None = None  # normalisation steps that changed the answer, comma-separated (core/normalize.py)


class OutcomeStore:
    """Writes and reads outcome rows through an injected async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, row: OutcomeRow) -> None:
        """Insert the row, or overwrite the row with the same ``(workflow_id, run_id, seq, try_no)``."""
        values: dict[str, Any] = row.model_dump()
        values["message"] = values["message"][:500]
        async with self._engine.begin() as conn:
            await conn.execute(upsert_template(conn.dialect.name, outcomes, KEY), values)

    async def earlier_tries(self, workflow_id: str, seq: int, before_try: int,
                            run_id: str = "") -> list[AttemptRecord]:
        """Failed tries ``1..before_try-1`` of one attempt of one run, oldest first, as trace records."""
        q = (sa.select(outcomes.c.seq, outcomes.c.try_no, outcomes.c.target, outcomes.c.status_class,
                       outcomes.c.http_status, outcomes.c.latency_ms, outcomes.c.message,
                       outcomes.c.retry_after_s, outcomes.c.prompt_variant, outcomes.c.prompt_rewrite)
             .where(outcomes.c.workflow_id == workflow_id, outcomes.c.run_id == run_id, outcomes.c.seq == seq,
                    outcomes.c.try_no < before_try)
             .order_by(outcomes.c.try_no))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [AttemptRecord(seq=r.seq, try_no=r.try_no, target=r.target,
                              error_class=None if r.status_class == "ok" else r.status_class,
                              status=r.http_status, latency_ms=r.latency_ms, message=r.message,
                              retry_after_s=r.retry_after_s, variant=r.prompt_variant, rewrite=r.prompt_rewrite)
                for r in rows]

    async def for_workflow(self, workflow_id: str) -> list[OutcomeRow]:
        """All rows of one workflow, in ``(seq, try_no)`` order (tests and audits)."""
        q = sa.select(outcomes).where(outcomes.c.workflow_id == workflow_id).order_by(
            outcomes.c.seq, outcomes.c.try_no)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
        return [OutcomeRow(**{k: v for k, v in r.items() if k != "id"}) for r in rows]
