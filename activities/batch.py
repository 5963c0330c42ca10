"""Activities of the batch workflow: counts, pages of items, one result per item, the final export.

Every one is idempotent (``activities/storage/batches.py``): Temporal may run any of them again
after a worker dies, and the rows and files end the same. They are regular activities (not local):
each result is then a durable record in the batch's history, and concurrent items' results arrive
as ordered history events (local activities run from concurrent coroutines can replay out of
order, sdk-python #1578).

Errors: an unknown batch is a non-retryable ``ApplicationError`` of type ``BatchNotFound``; a
database outage raises and Temporal retries (see ``workflows/batch.py`` for the policy).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics
from activities.batch_export import export_batch, write_doc
from activities.storage.batches import BatchNotFound, BatchStore
from activities.storage.payloads import PayloadStore
from core.batch import (
    BEGIN_ACTIVITY,
    FINISH_ACTIVITY,
    PAGE_ACTIVITY,
    RECORD_ACTIVITY,
    BatchCounts,
    BatchPage,
    BeginInput,
    FinishInput,
    ItemOutcome,
    PageInput,
    RecordInput,
)
from core.chat import ChatResponse


class BatchActivities:
    """The batch activities with their stores injected."""

    def __init__(self, store: BatchStore, payloads: PayloadStore) -> None:
        self._store = store
        self._payloads = payloads

    @activity.defn(name=BEGIN_ACTIVITY)
    async def begin(self, inp: BeginInput) -> BatchCounts:
        """Mark the batch running; batch-wide counts and the number of items this run selects."""
        try:
            return await self._store.begin(inp)
        except BatchNotFound:
            raise ApplicationError(f"no batch {inp.batch_id!r} is loaded", type="BatchNotFound",
                                   non_retryable=True) from None

    @activity.defn(name=PAGE_ACTIVITY)
    async def page(self, inp: PageInput) -> BatchPage:
        """The next items to run, in item order."""
        return await self._store.page(inp)

    @activity.defn(name=RECORD_ACTIVITY)
    async def record(self, inp: RecordInput) -> None:
        """Store finished items' results in one transaction (and their document files when the
        batch exports to a directory)."""
        texts = [(out, await self._text(out)) for out in inp.outcomes]
        await self._store.record(texts)
        done = sum(out.status == "done" for out in inp.outcomes)
        metrics.record_batch_items(done, len(inp.outcomes) - done)
        docs = [(Path(out.export_dir), out.n, text) for out, text in texts
                if out.export_dir and out.status == "done" and text is not None]
        if docs:
            await asyncio.to_thread(lambda: [write_doc(*d) for d in docs])

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(self, inp: FinishInput) -> BatchCounts:
        """Mark the batch completed, write ``results.jsonl`` if it exports; final counts."""
        counts = await self._store.finish(inp.batch_id)
        if inp.export_dir:
            await export_batch(self._store, inp.batch_id, Path(inp.export_dir))
        return counts

    async def _text(self, out: ItemOutcome) -> str | None:
        if out.response is not None:
            return out.response.text()
        if out.response_ref:
            body = await self._payloads.get(out.response_ref)
            return ChatResponse.model_validate(json.loads(body)).text()
        return None
