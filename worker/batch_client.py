"""Client helper for batches: load a JSONL file into the database, start or attach to its workflow,
read progress, re-run failed items.

    bc = BatchClient(await connect(), BatchStore(make_engine(url)))
    info, _ = await bc.load(Path("docs.jsonl"), task_type="contract_clause_summary")
    handle = await bc.start(info.batch_id, concurrency=20, export_dir=Path("out"))
    print(await bc.progress(info.batch_id))          # done, failed, in flight, cost so far
    summary = await bc.wait(info.batch_id)

A batch's job id defaults to ``<file stem>-<10 hex of sha256(file, task type, tenant)>``: loading
the same file again finds the same batch (nothing is loaded or paid twice); ``job=`` names a new
one. Loading happens here, before any workflow starts, so a bad line stops everything with its
line number (``core/batch_file.py``) and the items never travel in a workflow input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import Priority, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.storage.batches import BatchInfo, BatchNotFound, BatchStore
from core.batch import (
    BATCH_TASK_QUEUE,
    BATCH_WORKFLOW,
    PROGRESS_QUERY,
    BatchInput,
    BatchProgress,
    BatchSummary,
    batch_workflow_id,
    job_id,
)
from core.batch_file import parse_lines

#: How long a progress query waits for a worker before falling back to the database.
QUERY_TIMEOUT = timedelta(seconds=5)


class BatchBusy(RuntimeError):
    """The batch's workflow is still running (retry-failed must wait for it)."""


async def resolve_batch_id(store: BatchStore, given: str) -> str:
    """The batch id for what a user typed: the id itself, or the batch's workflow id
    (``batch-<id>``, as the Temporal UI shows it). Raises ``BatchNotFound`` for neither."""
    try:
        return (await store.info(given)).batch_id
    except BatchNotFound:
        prefix = batch_workflow_id("")
        if not (given.startswith(prefix) and len(given) > len(prefix)):
            raise
    try:
        return (await store.info(given[len(prefix):])).batch_id
    except BatchNotFound:
        raise BatchNotFound(given) from None


class BatchClient:
    """Load, start, follow and retry batches (see module docstring)."""

    def __init__(self, client: Client, store: BatchStore, task_queue: str = BATCH_TASK_QUEUE) -> None:
        self.client = client
        self.store = store
        self.task_queue = task_queue

    async def load(self, path: Path, *, job: str | None = None, task_type: str | None = None,
                   tenant: str = "default", routes: Collection[str] | None = None) -> tuple[BatchInfo, bool]:
        """Parse ``path`` and store it as a batch; ``(info, created)``. ``routes``: the workers'
        route names when known (an item naming another task type is then a bad line). Raises
        ``core.batch_file.BatchFileError`` listing bad lines, ``OSError`` if unreadable."""
        raw = path.read_bytes()
        items = parse_lines(raw.decode("utf-8").splitlines(), task_type, routes)
        if job is None:
            digest = hashlib.sha256(raw + f"\0{task_type}\0{tenant}".encode()).hexdigest()[:10]
            job = f"{path.stem}-{digest}"
        return await self.store.load(job_id(job), items, source=str(path), task_type=task_type, tenant=tenant)

    async def resolve(self, given: str) -> str:
        """:func:`resolve_batch_id` on this client's store."""
        return await resolve_batch_id(self.store, given)

    def handle(self, batch_id: str) -> WorkflowHandle[object, BatchSummary]:
        """The handle of the batch's latest run (follows continue-as-new)."""
        return self.client.get_workflow_handle(batch_workflow_id(batch_id), result_type=BatchSummary)

    async def start(self, batch_id: str, *, concurrency: int = 20, export_dir: Path | None = None,
                    **options: object) -> WorkflowHandle[object, BatchSummary]:
        """Start the batch's run over its pending items, or attach to the one already running.
        ``options``: further :class:`core.batch.BatchInput` fields (``items_per_run``, ``priority``,
        ``child_task_queue``, ...)."""
        inp = BatchInput(batch_id=batch_id, concurrency=concurrency,
                         export_dir=str(export_dir.resolve()) if export_dir else None, **options)  # type: ignore[arg-type]
        return await self._start(inp, WorkflowIDConflictPolicy.USE_EXISTING)

    async def retry_failed(self, batch_id: str, *, concurrency: int = 20, export_dir: Path | None = None,
                           **options: object) -> WorkflowHandle[object, BatchSummary]:
        """Re-run only the failed items as the next round. Raises :class:`BatchBusy` while a run
        of the batch is going, ``activities.storage.batches.BatchNotFound`` for an unknown id."""
        info = await self.store.info(batch_id)
        inp = BatchInput(batch_id=batch_id, mode="failed", round=info.round + 1, concurrency=concurrency,
                         export_dir=str(export_dir.resolve()) if export_dir else None, **options)  # type: ignore[arg-type]
        try:
            return await self._start(inp, WorkflowIDConflictPolicy.FAIL)
        except WorkflowAlreadyStartedError:
            raise BatchBusy(f"batch {batch_id} is still running; attach to it and retry when it is done") from None

    async def _start(self, inp: BatchInput, conflict: WorkflowIDConflictPolicy) -> WorkflowHandle[object, BatchSummary]:
        what = "failed items, round " + str(inp.round) if inp.mode == "failed" else "pending items"
        return await self.client.start_workflow(
            BATCH_WORKFLOW, inp, id=batch_workflow_id(inp.batch_id), task_queue=self.task_queue,
            result_type=BatchSummary, id_conflict_policy=conflict,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE, priority=Priority(priority_key=inp.priority),
            static_summary=f"batch {inp.batch_id}: {what}, {inp.concurrency} at a time")

    async def progress(self, batch_id: str) -> BatchProgress:
        """Progress of the batch's latest run by query; from the database when no worker answers
        (then ``in_flight`` is 0 and ``state`` says ``completed`` only if the batch is)."""
        try:
            return await self.handle(batch_id).query(PROGRESS_QUERY, result_type=BatchProgress,
                                                     rpc_timeout=QUERY_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError):
            info = await self.store.info(batch_id)
            c = await self.store.counts(batch_id)
            return BatchProgress(batch_id=batch_id, mode="pending", round=info.round,
                                 state="completed" if info.state == "completed" else "running", total=c.total,
                                 to_run=c.total, started=c.done + c.failed, finished=c.done + c.failed, done=c.done,
                                 failed=c.failed, in_flight=0, cost_usd=c.cost_usd, elapsed_s=0.0, runs=0)

    async def wait(self, batch_id: str) -> BatchSummary:
        """Wait for the latest run to end and return its summary."""
        return await self.handle(batch_id).result()
