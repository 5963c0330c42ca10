"""``BatchWorkflow``: run a loaded batch, one child ``AIRequestWorkflow`` per item, in a sliding window.

Loop of one run (``shared/TEMPORAL.md`` section 3 and recommendation 11):

1. ``begin`` (first run of a round only): batch-wide counts and the number of items to run.
2. Fill the window: up to ``concurrency`` items in flight, each a coroutine that runs the child
   ``batch-<job>/doc-<n>`` (durable attempts, batch priority) and hands its result (done or
   failed, with the routing trace) to one recorder coroutine, which stores whatever has finished
   in one ``record`` call at a time (fewer activities and workflow tasks than one per item).
   Items are taken in ``n`` order from pages the ``page`` activity reads from the database, so
   the items never travel in this workflow's input.
3. Wait for any item with ``workflow.wait`` (deterministic; asyncio's version iterates a set).
4. After ``items_per_run`` items (or when the server suggests it), stop starting items, let the
   window drain, and continue as new with the cursor and counters (:class:`core.batch.BatchCursor`).
   Draining first means no child is ever orphaned by continue-as-new (the default parent-close
   policy terminates children) and no result is lost between runs; each run's history stays at
   a few thousand events whatever the batch size.
5. ``finish``: mark the batch completed, write ``results.jsonl`` when exporting.

Progress: the ``progress`` query (:class:`core.batch.BatchProgress`, no history events) and
``set_current_details`` for the UI. An item whose every target fails is recorded as failed with its
attempts and the batch goes on; ``mode="failed"`` re-runs only those, as round ``k``
(child ids ``.../retry-<k>``). Exactly once: a child is started once per (item, round) by
Temporal's command log; the result write is an upsert keyed by (batch, item, round).

Deterministic: time from ``workflow.time()``, I/O only through activities and children.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.batch import (
        BATCH_WORKFLOW,
        BEGIN_ACTIVITY,
        FINISH_ACTIVITY,
        PAGE_ACTIVITY,
        PROGRESS_QUERY,
        RECORD_ACTIVITY,
        RECORD_MAX_BYTES,
        RECORD_MAX_ITEMS,
        BatchCounts,
        BatchCursor,
        BatchInput,
        BatchItem,
        BatchPage,
        BatchProgress,
        BatchSummary,
        BeginInput,
        FinishInput,
        ItemOutcome,
        PageInput,
        RecordInput,
        item_workflow_id,
    )
    from core.names import REQUEST_WORKFLOW
    from core.request import RequestFailure, RequestInput, RequestResult


@dataclass(frozen=True)
class BatchActivityOptions:
    """Scheduling of the batch's storage activities: a short start-to-close (each is one small
    transaction, so a write lost with a dead worker is retried after 10 s), unlimited tries with
    backoff up to 30 s (a database outage pauses the batch instead of failing it), an unknown batch
    fails at once. The final export may take minutes for a large batch: ``finish_timeout``."""

    start_to_close: timedelta = timedelta(seconds=10)
    finish_timeout: timedelta = timedelta(minutes=10)
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
        non_retryable_error_types=["BatchNotFound"]))


OPTIONS = BatchActivityOptions()


@workflow.defn(name=BATCH_WORKFLOW)
class BatchWorkflow:
    """Input :class:`core.batch.BatchInput`; result :class:`core.batch.BatchSummary`."""

    @workflow.init
    def __init__(self, inp: BatchInput) -> None:
        self._inp = inp
        self._cur = inp.state.model_copy() if inp.state else BatchCursor()
        self._running: dict[int, asyncio.Task[None]] = {}  # items started and not yet recorded
        self._outbox: list[ItemOutcome] = []  # finished items waiting for the recorder
        self._recorded: set[int] = set()
        self._closing = False
        self._phase: str = "running" if inp.state else "starting"

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> BatchProgress:
        """Counts so far (see :class:`core.batch.BatchProgress`)."""
        c = self._cur
        return BatchProgress(batch_id=self._inp.batch_id, mode=self._inp.mode, round=self._inp.round,
                             state=self._phase, total=c.total, to_run=c.to_run, started=c.started,
                             finished=c.finished, done=c.done, failed=c.failed, in_flight=len(self._running),
                             cost_usd=c.cost_usd, elapsed_s=max(0.0, workflow.time() - c.started_at),
                             runs=c.runs)

    @workflow.run
    async def run(self, inp: BatchInput) -> BatchSummary:
        if inp.state is None:
            await self._begin()
        page: list[BatchItem] = []
        exhausted, launched = False, 0
        recorder = asyncio.create_task(self._recorder())
        while True:
            while not self._can_due(launched) and len(self._running) < inp.concurrency and not exhausted:
                if not page:
                    page = await self._page(min(inp.page_size, inp.items_per_run - launched))
                    exhausted = not page
                    continue
                self._launch(page.pop(0))
                launched += 1
            if not self._running:
                break
            if self._can_due(launched):
                self._phase = "draining"
            self._details()
            done, _ = await workflow.wait([*self._running.values(), recorder], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # an unexpected error fails the workflow task (retried), never drops an item
        self._closing = True
        await recorder
        if not exhausted:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(inp.model_copy(update={"state": self._cur.model_copy(
                update={"runs": self._cur.runs + 1})}))
        return await self._finish()

    def _can_due(self, launched: int) -> bool:
        return launched >= self._inp.items_per_run or workflow.info().is_continue_as_new_suggested()

    async def _begin(self) -> None:
        inp = self._inp
        counts = await workflow.execute_activity(
            BEGIN_ACTIVITY, BeginInput(batch_id=inp.batch_id, mode=inp.mode, round=inp.round),
            result_type=BatchCounts, start_to_close_timeout=OPTIONS.start_to_close, retry_policy=OPTIONS.retry)
        self._cur = BatchCursor(total=counts.total, to_run=counts.to_run, done=counts.done, failed=counts.failed,
                                cost_usd=counts.cost_usd, started_at=workflow.time())
        self._phase = "running"

    async def _page(self, limit: int) -> list[BatchItem]:
        inp = self._inp
        page = await workflow.execute_activity(
            PAGE_ACTIVITY, PageInput(batch_id=inp.batch_id, mode=inp.mode, after_n=self._cur.after_n, limit=limit),
            result_type=BatchPage, start_to_close_timeout=OPTIONS.start_to_close, retry_policy=OPTIONS.retry)
        return page.items

    def _launch(self, item: BatchItem) -> None:
        self._cur.after_n = item.n
        self._cur.started += 1
        self._running[item.n] = asyncio.create_task(self._item(item))

    async def _item(self, item: BatchItem) -> None:
        """Run one item's child, hand its result to the recorder and hold the item's window slot
        until the result is stored."""
        try:
            self._outbox.append(await self._run_child(item))
            await workflow.wait_condition(lambda: item.n in self._recorded)
            self._recorded.discard(item.n)
        finally:
            del self._running[item.n]

    async def _recorder(self) -> None:
        """Store finished items' results, several per ``record`` call (whatever finished while the
        previous call ran, within the caps of :class:`core.batch.RecordInput`); counters move only
        once a result is stored. Ends when the run closes and nothing is left to store."""
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._closing)
            if not self._outbox:
                return
            batch, size = [], 0
            while self._outbox and len(batch) < RECORD_MAX_ITEMS:
                nxt = len(self._outbox[0].model_dump_json())
                if batch and size + nxt > RECORD_MAX_BYTES:
                    break
                batch.append(self._outbox.pop(0))
                size += nxt
            await workflow.execute_activity(RECORD_ACTIVITY, RecordInput(outcomes=batch),
                                            start_to_close_timeout=OPTIONS.start_to_close, retry_policy=OPTIONS.retry,
                                            summary=f"{len(batch)} item(s) from {batch[0].n}")
            for out in batch:
                self._count(out)
                self._recorded.add(out.n)

    def _count(self, out: ItemOutcome) -> None:
        c = self._cur
        c.finished += 1
        c.cost_usd += out.cost_usd
        retrying = self._inp.mode == "failed"  # the item was counted failed before this round
        if out.status == "done":
            c.done += 1
            c.failed -= 1 if retrying else 0
        elif not retrying:
            c.failed += 1

    async def _run_child(self, item: BatchItem) -> ItemOutcome:
        inp = self._inp
        wid = item_workflow_id(inp.batch_id, item.n, inp.round)
        base = ItemOutcome(batch_id=inp.batch_id, n=item.n, round=inp.round, workflow_id=wid, status="failed",
                           export_dir=inp.export_dir)
        req = RequestInput(request=item.request, task_type=item.task_type, tenant=item.tenant, priority=inp.priority,
                           durable_attempts=True, metadata={"batch": inp.batch_id, "item": str(item.n)})
        try:
            res = await workflow.execute_child_workflow(
                REQUEST_WORKFLOW, req, id=wid, result_type=RequestResult,
                task_queue=inp.child_task_queue or workflow.info().task_queue,
                task_timeout=timedelta(seconds=inp.child_task_timeout_s), priority=Priority(priority_key=inp.priority),
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(sa.TASK_TYPE, item.task_type or "default"),
                    SearchAttributePair(sa.TENANT, item.tenant)]),
                static_summary=f"item {item.n} of batch {inp.batch_id}" + (f" ({item.key})" if item.key else ""))
        except ChildWorkflowError as err:
            return _failed(base, err)
        except WorkflowAlreadyStartedError:
            return base.model_copy(update={"error_class": "DuplicateItem", "error_message":
                                           f"an execution {wid} already exists; not run twice"})
        t = res.trace
        return base.model_copy(update={
            "status": "done", "target": t.target_used, "response": res.response, "response_ref": res.response_ref,
            "cost_usd": t.cost_usd, "latency_ms": t.latency_ms, "failovers": t.failovers, "attempts": t.attempts})

    async def _finish(self) -> BatchSummary:
        inp = self._inp
        counts = await workflow.execute_activity(
            FINISH_ACTIVITY, FinishInput(batch_id=inp.batch_id, export_dir=inp.export_dir), result_type=BatchCounts,
            start_to_close_timeout=OPTIONS.finish_timeout, retry_policy=OPTIONS.retry)
        self._phase = "completed"
        c = self._cur
        c.done, c.failed, c.cost_usd = counts.done, counts.failed, counts.cost_usd
        self._details()
        return BatchSummary(batch_id=inp.batch_id, total=counts.total, done=counts.done, failed=counts.failed,
                            cost_usd=counts.cost_usd, ran=c.finished, elapsed_s=workflow.time() - c.started_at,
                            runs=c.runs + 1)

    def _details(self) -> None:
        p = self.progress()
        rate = p.finished / p.elapsed_s if p.elapsed_s > 0 else 0.0
        workflow.set_current_details(
            f"**{p.state}**: {p.finished}/{p.to_run} finished this round ({p.done} done, {p.failed} failed of "
            f"{p.total}), {p.in_flight} in flight, ${p.cost_usd:.6f}, {rate:.1f} items/s, run {p.runs + 1}")


def _failed(base: ItemOutcome, err: ChildWorkflowError) -> ItemOutcome:
    """The failed outcome behind a child's failure: every target failed (the request's
    :class:`core.request.RequestFailure` with its trace), or the child was terminated/timed out."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.details:
        f = RequestFailure.model_validate(cause.details[0])
        return base.model_copy(update={"error_class": f.error_class, "error_status": f.status,
                                       "error_message": f.message, "attempts": f.trace.attempts,
                                       "failovers": f.trace.failovers, "latency_ms": f.trace.latency_ms})
    kind = type(cause).__name__ if cause is not None else "ChildWorkflowError"
    return base.model_copy(update={"error_class": kind.removesuffix("Error") or kind,
                                   "error_message": str(cause or err)[:1000]})
