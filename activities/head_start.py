"""Head starts: the gateway begins a request's first call while its workflow is being started.

Without a head start the provider call waits for the ``StartWorkflowExecution`` RPC and for the
first workflow task to reach the attempt local activity (~10 ms on the 2-core dev box,
``docs/PERFORMANCE.md``). With one, the gateway plans the request (``plan_ahead.py``), marks the
plan ``head_start``, builds the first attempt's input exactly as the workflow will
(``workflows/request.py`` :func:`attempt_input`) and :meth:`HeadStarts.begin` s that first try in
this process (the attempt activity's own code: target, key, prompt, permit, call, checks, cost,
outcome row) while it starts the workflow. The try records its outcome row only once the start has
returned the run id, so the row is keyed like any other. The workflow's first attempt activity
(``seq == 1``, first try, ``head_start`` set) then **adopts** the try: it awaits it here and returns
its result (or raises its failure) instead of calling. History records that attempt as usual; the
caller got its answer from the same result (``activities/early_reply.py``).

When the first workflow task runs in another process (the eager start was refused), the attempt
there finds nothing to adopt and waits for the try's **journal**: a head-started try journals its
result, or its failure (:func:`failure_journal`), with its outcome row in one transaction. If none
appears within the target's timeout plus :data:`ADOPT_MARGIN_S` (the gateway died mid-call), it calls
the provider itself, as a re-run local activity would after a worker crash.

What is durable when is unchanged: the request and its plan are in history before the reply, the
outcome row and the journaled answer are committed before the reply, the attempt's marker follows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from core.attempt import AttemptInput, AttemptResult

#: Seconds past the target's timeout an attempt elsewhere waits for a head-started try's journal.
ADOPT_MARGIN_S = 5.0
#: Seconds an unadopted try (its workflow task went elsewhere) is kept after it ended.
KEEP_UNADOPTED_S = 60.0

Runner = Callable[[AttemptInput, "asyncio.Future[str]"], Awaitable[AttemptResult]]


@dataclass
class HeadStart:
    """One head-started try: resolve ``run_id`` with the started run's id (``""``: the start failed)."""

    workflow_id: str
    run_id: asyncio.Future[str]
    task: asyncio.Task[AttemptResult]

    def started(self, run_id: str) -> None:
        """The workflow started as ``run_id``: the try may key its outcome row."""
        if not self.run_id.done():
            self.run_id.set_result(run_id)


class HeadStarts:
    """Tries begun by the gateway before their workflow started, by workflow id (this process).

    :meth:`bind` takes the runner (``AttemptActivities.head_start``) once the worker is built;
    until then (and in a process without a request worker) :attr:`ready` is ``False``."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[AttemptResult]] = {}
        self._runner: Runner | None = None

    def bind(self, runner: Runner) -> None:
        """Run head starts with ``runner(input, run id future)``."""
        self._runner = runner

    @property
    def ready(self) -> bool:
        return self._runner is not None

    def begin(self, inp: AttemptInput) -> HeadStart:
        """Start the first try of ``inp.workflow_id``'s first attempt now; raises ``RuntimeError``
        when not :attr:`ready`."""
        if self._runner is None:
            raise RuntimeError("no attempt runner bound: this process runs no request worker")
        loop = asyncio.get_running_loop()
        run_id: asyncio.Future[str] = loop.create_future()
        task = loop.create_task(self._runner(inp, run_id))
        self._tasks[inp.workflow_id] = task
        task.add_done_callback(lambda t: self._ended(inp.workflow_id, t))
        return HeadStart(inp.workflow_id, run_id, task)

    def claim(self, workflow_id: str) -> asyncio.Task[AttemptResult] | None:
        """The try begun here for ``workflow_id`` (once: the adopting attempt takes it), or ``None``."""
        return self._tasks.pop(workflow_id, None)

    def _ended(self, workflow_id: str, task: asyncio.Task[AttemptResult]) -> None:
        if not task.cancelled():
            task.exception()  # retrieved: its failure is the attempt's to raise, or in its journal
        if self._tasks.get(workflow_id) is task:  # not adopted (yet): the attempt may still come
            asyncio.get_running_loop().call_later(KEEP_UNADOPTED_S, self._drop, workflow_id, task)

    def _drop(self, workflow_id: str, task: asyncio.Task[AttemptResult]) -> None:
        if self._tasks.get(workflow_id) is task:
            del self._tasks[workflow_id]


def failure_journal(err: ApplicationError) -> bytes:
    """The journal of a failed try: what :func:`from_journal` raises again."""
    delay = err.next_retry_delay.total_seconds() if err.next_retry_delay is not None else None
    return json.dumps({"failure": {"message": err.message, "type": err.type, "non_retryable": err.non_retryable,
                                   "next_retry_delay_s": delay, "details": list(err.details)}}).encode()


def from_journal(body: bytes) -> AttemptResult:
    """The journaled try's result; raises its journaled failure as the ``ApplicationError`` it was."""
    data = json.loads(body)
    failure = data.get("failure") if isinstance(data, dict) else None
    if failure is None:
        return AttemptResult.model_validate(data)
    delay = failure["next_retry_delay_s"]
    raise ApplicationError(failure["message"], *failure["details"], type=failure["type"],
                           non_retryable=failure["non_retryable"], category=ApplicationErrorCategory.BENIGN,
                           next_retry_delay=None if delay is None else timedelta(seconds=delay))


async def adopt(heads: HeadStarts | None, journaled: Callable[[str, int, int], Awaitable[bytes | None]],
                inp: AttemptInput, poll_s: float = 0.05) -> AttemptResult | None:
    """The head-started try of ``inp`` (a first attempt's first try with ``head_start`` set): its
    result, or its failure raised; ``None`` when it ran nowhere to be seen (no try here and no
    journal within the target's timeout + :data:`ADOPT_MARGIN_S`): the caller then calls itself.

    ``journaled(run_id, seq, try_no)`` reads a journal (``OutcomeStore.journaled``). Cancelling the
    adopting attempt cancels the try."""
    task = heads.claim(inp.workflow_id) if heads is not None else None
    if task is not None:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            raise
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(inp.timeout_s, inp.caller_budget_s) + ADOPT_MARGIN_S
    while True:
        body = await journaled(inp.run_id, 1, 1)
        if body is not None:
            result = from_journal(body)
            result.notes.append("head start: the gateway's first try, adopted from its journal")
            return result
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(poll_s)
