"""Typed client helper: submit :class:`core.request.RequestInput` objects with the Temporal client.

    client = await worker.client.connect()
    sy = SwitchyardClient(client)
    result = await sy.submit(RequestInput(request=ChatRequest(messages=[...]), task_type="support_reply"))
    print(result.response.text(), result.trace.target_used)

``submit`` raises :class:`RequestFailed` (with the :class:`core.request.RequestFailure` details:
error class, caller-facing HTTP status, Retry-After, trace) when no target answered. An
``idempotency_key`` becomes the workflow id (scoped by tenant): a second submission with the same
key attaches to the running or finished execution and returns its result instead of running again.
Start the workflow eagerly (``eager=True``, default) when this process also runs a worker on the
task queue; otherwise the server falls back to normal dispatch by itself.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.storage.payloads import PayloadStore
from core import search_attributes as sa
from core.chat import ChatResponse
from core.ids import request_workflow_id
from core.names import DEFAULT_TASK_QUEUE, REQUEST_WORKFLOW
from core.request import RequestFailure, RequestInput, RequestResult
from worker.idempotency import MEMO_KEY, fingerprint
from worker.stream_client import StreamUpdate, stream_request
from worker.stream_reader import StreamReader

#: Workflow task timeout for request workflows (``shared/TEMPORAL.md`` recommendation 3).
TASK_TIMEOUT = timedelta(seconds=30)


class RequestFailed(Exception):
    """No target answered; ``failure`` carries the class, status, Retry-After and trace."""

    def __init__(self, workflow_id: str, failure: RequestFailure) -> None:
        super().__init__(f"{failure.error_class} ({failure.status}): {failure.message}")
        self.workflow_id = workflow_id
        self.failure = failure


class SwitchyardClient:
    """Start request workflows and wait for their results (see module docstring).

    ``payloads``: where answers too large for history are stored; needed only to resolve them.
    ``reader``: this process's stream reader (``worker/stream_reader.py``), needed by :meth:`stream`."""

    def __init__(self, client: Client, task_queue: str = DEFAULT_TASK_QUEUE,
                 payloads: PayloadStore | None = None, reader: StreamReader | None = None) -> None:
        self.client = client
        self.task_queue = task_queue
        self._payloads = payloads
        self.reader = reader

    async def start(self, inp: RequestInput, *, eager: bool = True, workflow_id: str | None = None,
                    rerun_failed: bool = False, fresh_id: str | None = None) -> WorkflowHandle[object, RequestResult]:
        """Start (or, for a known idempotency key, attach to) the request's workflow.

        ``rerun_failed``: a key whose execution *failed* (no answer, nothing billed) starts a new
        run instead of returning the same failure (the gateway: an SDK retrying a 503 gets a fresh
        walk); running and completed executions are still attached to. ``fresh_id``: the id of an
        unkeyed request chosen by the caller (``core.ids.request_workflow_id``), started like an
        unkeyed one (the gateway knows it before the start, for its early reply)."""
        wf_id = workflow_id or fresh_id or request_workflow_id(inp.tenant, inp.idempotency_key)
        keyed = bool(inp.idempotency_key or workflow_id)
        attrs = TypedSearchAttributes([SearchAttributePair(sa.TASK_TYPE, inp.task_type or "default"),
                                       SearchAttributePair(sa.TENANT, inp.tenant)])
        try:
            return await self.client.start_workflow(
                REQUEST_WORKFLOW, inp, id=wf_id, task_queue=self.task_queue, result_type=RequestResult,
                task_timeout=TASK_TIMEOUT, search_attributes=attrs, request_eager_start=eager,
                static_summary=f"{inp.task_type or 'default'} request ({len(inp.request.messages)} messages) "
                               f"for tenant {inp.tenant}",
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING if keyed
                else WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=(WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY if rerun_failed
                                 else WorkflowIDReusePolicy.REJECT_DUPLICATE) if keyed
                else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                priority=Priority(priority_key=inp.priority),
                memo={MEMO_KEY: fingerprint(inp)} if keyed else None)
        except WorkflowAlreadyStartedError:  # closed execution with the same key: reuse its result
            return self.client.get_workflow_handle(wf_id, result_type=RequestResult)

    async def result(self, handle: WorkflowHandle[object, RequestResult]) -> RequestResult:
        """Wait for the result; resolves a stored large answer; raises :class:`RequestFailed`."""
        try:
            result = await handle.result()
        except WorkflowFailureError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError) and cause.details:
                raise RequestFailed(handle.id, RequestFailure.model_validate(cause.details[0])) from None
            raise
        if result.response is None and result.response_ref and self._payloads is not None:
            body = await self._payloads.get(result.response_ref)
            result.response = ChatResponse.model_validate(json.loads(body))
        return result

    def stream(self, inp: RequestInput, *, eager: bool = True) -> AsyncIterator[StreamUpdate]:
        """The answer as it is generated (``worker/stream_client.py``): :class:`StreamUpdate` s,
        the last one carrying the :class:`RequestResult`; raises :class:`RequestFailed`, and
        ``RuntimeError`` when the client has no stream reader."""
        if self.reader is None:
            raise RuntimeError("SwitchyardClient.stream needs a reader: SwitchyardClient(client, reader=...)")
        return stream_request(self, self.reader, inp, eager=eager)

    async def submit(self, inp: RequestInput, *, eager: bool = True) -> RequestResult:
        """Start the request and wait for its result (see :meth:`start` and :meth:`result`)."""
        return await self.result(await self.start(inp, eager=eager))
