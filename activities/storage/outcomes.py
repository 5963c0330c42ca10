"""Outcome rows: one per provider call, written by the attempt activity.

Idempotent on ``(workflow_id, run_id, seq, try_no)``: ``seq`` is the workflow's attempt number
(which target of the walk), ``try_no`` is Temporal's retry attempt of that activity. When Temporal
re-runs an activity whose result was never recorded (a worker died mid-task), the re-run
overwrites the row of the same key, so rows always equal recorded attempts. ``run_id`` keeps a
new run of the same workflow id (a gateway retry of a failed keyed request, a batch item re-run)
from overwriting the earlier run's audit rows.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.tables import outcomes, payloads
from activities.storage.upsert import upsert_template
from core.request import AttemptRecord

KEY = ("workflow_id", "run_id", "seq", "try_no")
#: ``kind`` of journaled results in the payload table.
JOURNAL_KIND = "attempt.result"
#: Journaled results older than this (s) are deleted, every ``JOURNAL_SWEEP_EVERY`` write batches.
JOURNAL_KEEP_S = 3600.0
JOURNAL_SWEEP_EVERY = 500
log = logging.getLogger("switchyard.outcomes")


def journal_ref(run_id: str, seq: int, try_no: int) -> str:
    """The payload reference of a journaled call result: deterministic, so a re-run finds it."""
    return f"jr-{run_id}-{seq}-{try_no}"


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
    """Writes and reads outcome rows through an injected async engine.

    Writes are **group-committed**: :meth:`record` queues its row and waits; one writer task per
    process commits every queued row (and journal) in one transaction, then wakes the waiters. A
    lone call costs one transaction as before; under load the rows that arrived during a commit go
    together in the next one, so N concurrent attempts cost about one commit instead of N commits
    fighting for SQLite's write lock (``docs/PERFORMANCE.md``). Nothing is acknowledged before it
    is committed, and a failed commit fails every call of its batch."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: list[tuple[dict[str, Any], dict[str, Any] | None, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._batches = 0

    async def record(self, row: OutcomeRow, journal: bytes | None = None) -> None:
        """Insert the row, or overwrite the row with the same ``(workflow_id, run_id, seq, try_no)``;
        returns once it is committed (raises the database's error otherwise).

        ``journal``: the call's whole result (JSON bytes of an ``AttemptResult``), written in the
        same transaction under :func:`journal_ref` (an early reply's answer journal,
        ``activities/early_reply.py``)."""
        values: dict[str, Any] = row.model_dump()
        values["message"] = values["message"][:500]
        extra = None if journal is None else {
            "ref": journal_ref(row.run_id, row.seq, row.try_no), "workflow_id": row.workflow_id,
            "kind": JOURNAL_KIND, "size_bytes": len(journal), "body": journal, "created_at": row.created_at}
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.append((values, extra, done))
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._drain())
        await asyncio.shield(done)  # a cancelled caller's row is still written (and counted once)

    async def _drain(self) -> None:
        """Commit queued rows, a batch per transaction, until the queue is empty."""
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(upsert_template(conn.dialect.name, outcomes, KEY), [b[0] for b in batch])
                    journals = [b[1] for b in batch if b[1] is not None]
                    if journals:
                        await conn.execute(upsert_template(conn.dialect.name, payloads, ("ref",)), journals)
            except BaseException as e:  # noqa: BLE001 - handed to every waiter of the batch
                for *_, fut in batch:
                    if not fut.done():
                        fut.set_exception(e if isinstance(e, Exception) else RuntimeError(f"outcome write: {e!r}"))
                if not isinstance(e, Exception):
                    raise
                continue
            for *_, fut in batch:
                if not fut.done():
                    fut.set_result(None)
            self._batches += 1
            if journals and self._batches % JOURNAL_SWEEP_EVERY == 0:
                await self._sweep_journal(float(batch[-1][0]["created_at"]) - JOURNAL_KEEP_S)

    async def _sweep_journal(self, before: float) -> None:
        """Delete journaled results written before ``before`` (unix s): their workflows have long
        closed (a re-run comes within the 30 s workflow task timeout). Failures are only logged."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(sa.delete(payloads).where(payloads.c.kind == JOURNAL_KIND,
                                                             payloads.c.created_at < before))
        except Exception as e:  # noqa: BLE001 - housekeeping must not fail a write
            log.warning("sweeping the answer journal failed: %s", e)

    async def journaled(self, run_id: str, seq: int, try_no: int) -> bytes | None:
        """The journaled result of one call (see :meth:`record`), or ``None``."""
        q = sa.select(payloads.c.body).where(payloads.c.ref == journal_ref(run_id, seq, try_no))
        async with self._engine.connect() as conn:
            row = (await conn.execute(q)).first()
        return None if row is None else bytes(row.body)

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
