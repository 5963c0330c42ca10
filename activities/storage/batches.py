"""Batch storage: load a batch's items, page through them, record each item's result.

All writes are idempotent, so Temporal may re-run any activity that uses them:

- :meth:`BatchStore.load` inserts the batch and its items once; loading the same id again changes
  nothing and reports the existing batch.
- :meth:`BatchStore.record` upserts each result row keyed ``(batch_id, n, round)`` and sets the
  item's status in the same transaction; a re-run rewrites the same rows.

Shapes: items are :class:`core.batch_file.BatchItemSpec` on the way in and
:class:`core.batch.BatchItem` on the way out; results are :class:`core.batch.ItemOutcome` in and
:class:`ResultRow` out. Times are unix seconds, costs USD, latencies ms.
"""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.storage.batch_tables import batch_items, batch_results, batches
from activities.storage.upsert import upsert_stmt
from core.batch import BatchCounts, BatchItem, BatchPage, BeginInput, ItemOutcome, PageInput
from core.batch_file import BatchItemSpec
from core.chat import ChatRequest
from core.request import AttemptRecord

#: Rows per INSERT when loading (well under SQLite's 32,766 bound-parameter limit at 6 columns).
LOAD_CHUNK = 500
_ATTEMPTS = TypeAdapter(list[AttemptRecord])


class BatchNotFound(LookupError):
    """No batch has this id."""


class BatchInfo(BaseModel):
    """A ``batches`` row."""

    batch_id: str
    source: str
    task_type: str | None
    tenant: str
    total: int
    state: str
    round: int
    created_at: float
    updated_at: float


class ResultRow(BaseModel):
    """An item with its latest result (``status`` ``pending`` and no result fields if none yet)."""

    n: int
    key: str | None = None
    status: str
    round: int = 0
    workflow_id: str | None = None
    target: str | None = None
    text: str | None = None
    response_ref: str | None = None
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    failovers: int = 0
    attempts: list[AttemptRecord] = []
    error_class: str | None = None
    error_status: int | None = None
    error_message: str | None = None


class BatchStore:
    """Batch rows through an injected async engine; ``clock`` returns unix seconds."""

    def __init__(self, engine: AsyncEngine, *, clock=time.time) -> None:
        self._engine = engine
        self._clock = clock

    async def load(self, batch_id: str, items: list[BatchItemSpec], *, source: str = "",
                   task_type: str | None = None, tenant: str = "default") -> tuple[BatchInfo, bool]:
        """Insert the batch and its items unless ``batch_id`` exists; returns ``(info, created)``."""
        now = self._clock()
        async with self._engine.begin() as conn:
            existing = await _info(conn, batch_id)
            if existing is not None:
                return existing, False
            await conn.execute(sa.insert(batches).values(
                batch_id=batch_id, source=source[:500], task_type=task_type, tenant=tenant, total=len(items),
                state="loaded", round=0, created_at=now, updated_at=now))
            for i in range(0, len(items), LOAD_CHUNK):
                await conn.execute(sa.insert(batch_items), [
                    {"batch_id": batch_id, "n": it.n, "key": it.key, "task_type": it.task_type,
                     "request": it.request.model_dump_json(exclude_none=True), "status": "pending", "round": 0,
                     "updated_at": now} for it in items[i:i + LOAD_CHUNK]])
            info = await _info(conn, batch_id)
        assert info is not None
        return info, True

    async def info(self, batch_id: str) -> BatchInfo:
        """The batch's row; raises :class:`BatchNotFound`."""
        async with self._engine.connect() as conn:
            found = await _info(conn, batch_id)
        if found is None:
            raise BatchNotFound(batch_id)
        return found

    async def begin(self, inp: BeginInput) -> BatchCounts:
        """Mark the batch running in round ``inp.round``; counts for that run."""
        async with self._engine.begin() as conn:
            found = await _info(conn, inp.batch_id)
            if found is None:
                raise BatchNotFound(inp.batch_id)
            await conn.execute(sa.update(batches).where(batches.c.batch_id == inp.batch_id).values(
                state="running", round=max(found.round, inp.round), updated_at=self._clock()))
        counts = await self.counts(inp.batch_id)
        return counts if inp.mode == "pending" else counts.model_copy(update={"to_run": counts.failed})

    async def counts(self, batch_id: str) -> BatchCounts:
        """Batch-wide counts; ``to_run`` is the number of pending items."""
        q = (sa.select(batch_items.c.status, sa.func.count()).where(batch_items.c.batch_id == batch_id)
             .group_by(batch_items.c.status))
        cost_q = sa.select(sa.func.coalesce(sa.func.sum(batch_results.c.cost_usd), 0.0)).where(
            batch_results.c.batch_id == batch_id)
        async with self._engine.connect() as conn:
            by_status = {s: int(c) for s, c in (await conn.execute(q)).all()}
            cost = float((await conn.execute(cost_q)).scalar_one())
        total = sum(by_status.values())
        return BatchCounts(total=total, to_run=by_status.get("pending", 0), done=by_status.get("done", 0),
                           failed=by_status.get("failed", 0), cost_usd=cost)

    async def page(self, inp: PageInput) -> BatchPage:
        """The next items of the run (see :class:`core.batch.PageInput`)."""
        status = "failed" if inp.mode == "failed" else "pending"
        q = (sa.select(batch_items.c.n, batch_items.c.key, batch_items.c.task_type, batch_items.c.request,
                       batches.c.tenant, batches.c.task_type.label("default_task_type"))
             .join(batches, batches.c.batch_id == batch_items.c.batch_id)
             .where(batch_items.c.batch_id == inp.batch_id, batch_items.c.status == status,
                    batch_items.c.n > inp.after_n)
             .order_by(batch_items.c.n).limit(inp.limit))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        items, size = [], 0
        for r in rows:
            size += len(r.request)
            if items and size > inp.max_bytes:
                break
            items.append(BatchItem(n=r.n, key=r.key, task_type=r.task_type or r.default_task_type, tenant=r.tenant,
                                   request=ChatRequest.model_validate_json(r.request)))
        return BatchPage(items=items)

    async def record(self, outcomes: list[tuple[ItemOutcome, str | None]]) -> None:
        """For each ``(outcome, answer text)``, in one transaction: upsert the result row of
        ``(batch_id, n, round)`` and set the item's status to it (unless the item already carries
        a later round's result)."""
        now = self._clock()
        rows = [_result_row(out, text, now) for out, text in outcomes]
        status = sa.update(batch_items).where(
            batch_items.c.batch_id == sa.bindparam("b_batch"), batch_items.c.n == sa.bindparam("b_n"),
            batch_items.c.round <= sa.bindparam("b_round")).values(
            status=sa.bindparam("b_status"), round=sa.bindparam("b_round"),
            workflow_id=sa.bindparam("b_wf"), updated_at=now)
        async with self._engine.begin() as conn:
            await conn.execute(upsert_stmt(conn, batch_results, rows, ["batch_id", "n", "round"]))
            await conn.execute(status, [{"b_batch": o.batch_id, "b_n": o.n, "b_round": o.round,
                                         "b_status": o.status, "b_wf": o.workflow_id} for o, _ in outcomes])

    async def finish(self, batch_id: str) -> BatchCounts:
        """Mark the batch completed; its counts."""
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(batches).where(batches.c.batch_id == batch_id).values(
                state="completed", updated_at=self._clock()))
        return await self.counts(batch_id)

    async def results(self, batch_id: str, *, after_n: int = 0, limit: int | None = None) -> list[ResultRow]:
        """Items in ``n`` order with the result of their current round (see :class:`ResultRow`)."""
        r = batch_results
        q = (sa.select(batch_items.c.n, batch_items.c.key, batch_items.c.status, batch_items.c.round,
                       batch_items.c.workflow_id, r.c.target, r.c.text, r.c.response_ref, r.c.cost_usd,
                       r.c.latency_ms, r.c.failovers, r.c.attempts, r.c.error_class, r.c.error_status,
                       r.c.error_message)
             .select_from(batch_items.outerjoin(r, sa.and_(r.c.batch_id == batch_items.c.batch_id,
                                                           r.c.n == batch_items.c.n,
                                                           r.c.round == batch_items.c.round)))
             .where(batch_items.c.batch_id == batch_id, batch_items.c.n > after_n)
             .order_by(batch_items.c.n).limit(limit))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
        out = []
        for m in rows:
            d = {k: v for k, v in m.items() if v is not None}
            d["attempts"] = json.loads(m["attempts"]) if m["attempts"] else []
            out.append(ResultRow.model_validate(d))
        return out

    async def list(self, limit: int = 50) -> list[BatchInfo]:
        """The most recently updated batches."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(batches).order_by(batches.c.updated_at.desc())
                                       .limit(limit))).mappings().all()
        return [BatchInfo.model_validate(dict(r)) for r in rows]


async def _info(conn: AsyncConnection, batch_id: str) -> BatchInfo | None:
    row = (await conn.execute(sa.select(batches).where(batches.c.batch_id == batch_id))).mappings().first()
    return BatchInfo.model_validate(dict(row)) if row else None


def _result_row(out: ItemOutcome, text: str | None, now: float) -> dict[str, object]:
    return {"batch_id": out.batch_id, "n": out.n, "round": out.round, "workflow_id": out.workflow_id,
            "status": out.status, "target": out.target, "text": text,
            "response": out.response.model_dump_json() if out.response is not None else None,
            "response_ref": out.response_ref, "cost_usd": out.cost_usd, "latency_ms": out.latency_ms,
            "failovers": out.failovers, "attempts": _ATTEMPTS.dump_json(out.attempts).decode(),
            "error_class": out.error_class, "error_status": out.error_status,
            "error_message": (out.error_message or "")[:1000] or None, "created_at": now}
