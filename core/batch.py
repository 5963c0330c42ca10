"""Batch generation: names, ids and the typed inputs/results at the batch workflow's boundaries.

A batch is loaded into the database first (``activities/storage/batches.py``); the workflow input
names it by id and carries only a cursor and counters, never the items, so a 10,000-item batch
keeps small payloads and a bounded history (``shared/TEMPORAL.md`` recommendation 8, section 3).

Flow: ``BatchWorkflow(BatchInput)`` -> ``begin`` (counts) -> pages of :class:`BatchItem` ->
one child ``AIRequestWorkflow`` per item -> ``record`` (:class:`RecordInput`: finished items'
:class:`ItemOutcome` s, one row per item and round) -> continue-as-new every ``items_per_run``
items, carrying :class:`BatchCursor` -> ``finish`` -> :class:`BatchSummary`. Progress: the
``progress`` query (:class:`BatchProgress`).

Pure data: importable inside workflows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.chat import ChatRequest, ChatResponse
from core.ids import safe_key
from core.priority import KEYS
from core.request import AttemptRecord

BATCH_WORKFLOW = "BatchWorkflow"
BATCH_TASK_QUEUE = "switchyard-batch"
PROGRESS_QUERY = "progress"

BEGIN_ACTIVITY = "switchyard.batch.begin"
PAGE_ACTIVITY = "switchyard.batch.page"
RECORD_ACTIVITY = "switchyard.batch.record"
FINISH_ACTIVITY = "switchyard.batch.finish"

#: Temporal priority of batch workflows and their children (1 highest .. 5 lowest; interactive
#: requests use the default, 3): ``batch`` in ``core/priority.py``, the lowest, so batch work yields
#: when a queue is backlogged and gets the smallest share of a target's concurrency limit.
BATCH_PRIORITY = KEYS["batch"]

#: Items started per run before continue-as-new. Measured on the dev server: ~8.4 history events
#: and ~12 KB of history (JSON) per item, so a run stays near 2,500 events / 4 MB, under the
#: server's continue-as-new suggestion (4,096 events or 4 MB) and far from its limits (51,200
#: events, 50 MB; ``shared/TEMPORAL.md`` section 2.3). The server's suggestion also ends a run.
ITEMS_PER_RUN = 300

Mode = Literal["pending", "failed"]


def batch_workflow_id(job: str) -> str:
    """``batch-<job>`` (``shared/TEMPORAL.md`` recommendation 13)."""
    return f"batch-{job}"


def item_workflow_id(job: str, n: int, round_no: int = 0) -> str:
    """``batch-<job>/doc-<n>``; a retry round ``k`` >= 1 adds ``/retry-<k>``, so its outcome rows
    never overwrite the failed round's (outcomes are keyed by workflow id, seq and try)."""
    base = f"batch-{job}/doc-{n}"
    return base if round_no == 0 else f"{base}/retry-{round_no}"


def job_id(name: str) -> str:
    """A job name made safe for ids (``core.ids.safe_key``, at most 100 characters)."""
    return safe_key(name, 100)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchCursor(_Model):
    """State carried across continue-as-new (and shown by the query).

    ``after_n``: the last item number started; items are taken in ``n`` order. ``to_run``: items
    this run of the batch will run (all pending ones, or the failed ones in a retry round).
    ``started``/``finished``: of those, so far. ``done``/``failed``: batch-wide counts, including
    earlier rounds. ``cost_usd``: batch-wide, USD. ``started_at``: unix seconds (workflow clock)
    when this round began. ``runs``: continue-as-new count.
    """

    after_n: int = 0
    total: int = 0
    to_run: int = 0
    started: int = 0
    finished: int = 0
    done: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    started_at: float = 0.0
    runs: int = 0


class BatchInput(_Model):
    """Start (or continue) a batch run.

    ``batch_id``: the loaded batch (job id; the workflow id is ``batch-<job>``). ``mode``:
    ``pending`` runs every item not yet run; ``failed`` re-runs the failed ones as round ``round``.
    ``concurrency``: children in flight at most (Temporal allows 2,000 pending children per
    workflow; the cap here keeps the window well under it). ``child_task_queue``: where the
    children run (default: this workflow's own queue, the batch queue). ``priority``: Temporal
    priority key of the children. ``child_task_timeout_s``: their workflow task timeout (a task
    lost with a dead worker is retried after it; attempts are regular activities, so a child's
    workflow tasks are short). ``items_per_run``: continue-as-new after starting this many
    items in one run (also when the server suggests it). ``export_dir``: directory on the
    worker's filesystem for the per-item files and ``results.jsonl`` (optional).
    ``state``: set by continue-as-new only.
    """

    batch_id: str = Field(min_length=1, max_length=120)
    mode: Mode = "pending"
    round: int = Field(default=0, ge=0)
    concurrency: int = Field(default=20, ge=1, le=500)
    child_task_queue: str | None = None
    priority: int = Field(default=BATCH_PRIORITY, ge=1, le=5)
    items_per_run: int = Field(default=ITEMS_PER_RUN, ge=1, le=2000)
    page_size: int = Field(default=100, ge=1, le=1000)
    child_task_timeout_s: float = Field(default=10.0, gt=0, le=120)
    export_dir: str | None = None
    state: BatchCursor | None = None


class BeginInput(_Model):
    batch_id: str
    mode: Mode
    round: int


class BatchCounts(_Model):
    """Batch-wide counts from the database. ``to_run``: items the requested mode selects."""

    total: int
    to_run: int
    done: int
    failed: int
    cost_usd: float


class PageInput(_Model):
    """Items of ``batch_id`` selected by ``mode`` with ``n > after_n``, in ``n`` order: at most
    ``limit`` of them and about ``max_bytes`` of request JSON (always at least one)."""

    batch_id: str
    mode: Mode
    after_n: int
    limit: int
    max_bytes: int = 512 * 1024


class BatchItem(_Model):
    """One item as the workflow needs it: number, caller key, task type, tenant, request."""

    n: int
    key: str | None = None
    task_type: str | None = None
    tenant: str = "default"
    request: ChatRequest


class BatchPage(_Model):
    items: list[BatchItem] = Field(default_factory=list)


class ItemOutcome(_Model):
    """The result of one item in one round, as the ``record`` activity stores it.

    ``status``: ``done`` (a target answered) or ``failed`` (every target failed, or the caller's
    error). ``response``/``response_ref``: the answer, inline or by payload reference.
    ``attempts``: every call of the routing trace (target, error class, status, latency).
    Latency in ms, cost in USD.
    """

    batch_id: str
    n: int
    round: int
    workflow_id: str
    status: Literal["done", "failed"]
    target: str | None = None
    response: ChatResponse | None = None
    response_ref: str | None = None
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    failovers: int = 0
    attempts: list[AttemptRecord] = Field(default_factory=list)
    error_class: str | None = None
    error_status: int | None = None
    error_message: str | None = None
    export_dir: str | None = None


class RecordInput(_Model):
    """Results of several items, stored in one transaction (the workflow batches the results that
    finish while the previous write is in flight: at most :data:`RECORD_MAX_ITEMS` items and
    :data:`RECORD_MAX_BYTES` of JSON, or one item, so the payload stays under the 512 KB at which
    Temporal warns; answers over 256 KB travel by reference, ``activities/storage/payloads.py``)."""

    outcomes: list[ItemOutcome] = Field(min_length=1)


#: Caps of one ``record`` call (items; bytes of outcome JSON, always at least one item).
RECORD_MAX_ITEMS = 50
RECORD_MAX_BYTES = 384 * 1024


class FinishInput(_Model):
    batch_id: str
    export_dir: str | None = None


class BatchProgress(_Model):
    """What the ``progress`` query returns. Counts as in :class:`BatchCursor`; ``in_flight``:
    children running now; ``elapsed_s``: seconds since this round began (workflow clock);
    ``state``: ``starting`` (counts not read yet: every count is 0), ``running``, ``draining``
    (finishing the window before continue-as-new) or ``completed``."""

    batch_id: str
    mode: Mode
    round: int
    state: Literal["starting", "running", "draining", "completed"]
    total: int
    to_run: int
    started: int
    finished: int
    done: int
    failed: int
    in_flight: int
    cost_usd: float
    elapsed_s: float
    runs: int


class BatchSummary(_Model):
    """The batch workflow's result: batch-wide counts after the run (from the database)."""

    batch_id: str
    total: int
    done: int
    failed: int
    cost_usd: float
    ran: int
    elapsed_s: float
    runs: int
