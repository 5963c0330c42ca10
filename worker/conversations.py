"""Typed client helper for conversations: one call per turn, on top of update-with-start.

    conv = ConversationClient(await worker.client.connect(), payloads=PayloadStore(engine))
    turn = await conv.send("ticket-4411", "My refill order NW-48213 has not arrived.",
                           config=ConversationConfig(task_type="support_reply", tenant="acme"))
    print(turn.text(), turn.pinned_target, turn.pin_move)
    view = await conv.view("ticket-4411", tenant="acme")          # recent transcript + pin history
    await conv.close("ticket-4411", tenant="acme")

``send`` starts the conversation's workflow (``conv-<tenant>-<id>``) if it is not running and
delivers the turn as an update in the same call (``USE_EXISTING``); only the new message travels.
A request too large for a Temporal payload is stored in the database first and sent by reference
(``request_ref``), so it is never dropped. ``send`` raises :class:`TurnFailed` with the error class,
HTTP-style status, Retry-After and routing trace when no target answered or the turn was refused
(``ConversationClosed``, ``DuplicateTurn``, ``OutOfOrderTurn``: 409; ``InvalidRequest``: 400;
``StorageUnavailable``: 503).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.storage.conversations import ConversationStore
from activities.storage.payloads import PayloadStore
from core import search_attributes as sa
from core.chat import ChatMessage, ChatRequest, ChatResponse
from core.conversation import (
    CONVERSATION_CLOSED,
    DUPLICATE_TURN,
    MAX_INLINE_TURN_BYTES,
    OUT_OF_ORDER_TURN,
    STORAGE_UNAVAILABLE,
    CloseInput,
    ConversationConfig,
    ConversationInput,
    ConversationView,
    TranscriptEntry,
    TurnInput,
    TurnResult,
)
from core.ids import conversation_workflow_id, uuid7
from core.names import (
    CONVERSATION_CLOSE_UPDATE,
    CONVERSATION_TURN_UPDATE,
    CONVERSATION_VIEW_QUERY,
    CONVERSATION_WORKFLOW,
    DEFAULT_TASK_QUEUE,
)
from core.request import RequestFailure, RoutingTrace
from core.tokens import estimate_prompt_tokens
from worker.stream_reader import StreamReader, follow_until
from workflows.conversation_checks import message_problem

#: Workflow task timeout of conversation workflows: a turn's local activities longer than 80% of it
#: extend the task (3 events each), and a worker that dies mid-turn is noticed after it (10 s is
#: Temporal's default; request workflows use 30 s because no one waits on a second turn there).
TASK_TIMEOUT = timedelta(seconds=10)
_STATUS = {CONVERSATION_CLOSED: 409, DUPLICATE_TURN: 409, OUT_OF_ORDER_TURN: 409, STORAGE_UNAVAILABLE: 503}

Message = str | ChatMessage | ChatRequest


class TurnFailed(Exception):
    """A turn got no answer or was refused. ``failure``: class, status, message, Retry-After and
    the routing trace (empty for refusals)."""

    def __init__(self, conversation_id: str, failure: RequestFailure) -> None:
        super().__init__(f"{failure.error_class} ({failure.status}): {failure.message}")
        self.conversation_id = conversation_id
        self.failure = failure


class ConversationClient:
    """Send turns, read and close conversations (see module docstring).

    ``payloads``: claim-check store for oversized requests and answers (needed only for those);
    ``store``: the transcript store, for :meth:`transcript`; ``defaults``: the config of conversations
    ``send`` starts when given none."""

    def __init__(self, client: Client, task_queue: str = DEFAULT_TASK_QUEUE, *, payloads: PayloadStore | None = None,
                 store: ConversationStore | None = None, defaults: ConversationConfig | None = None,
                 task_timeout: timedelta = TASK_TIMEOUT) -> None:
        self.client = client
        self.task_queue = task_queue
        self.defaults = defaults or ConversationConfig()
        self._payloads = payloads
        self._store = store
        self._task_timeout = task_timeout

    def workflow_id(self, conversation_id: str, tenant: str | None = None) -> str:
        """The conversation's workflow id, ``conv-<tenant>-<id>``."""
        return conversation_workflow_id(tenant or self.defaults.tenant, conversation_id)

    async def send(self, conversation_id: str, message: Message, *, config: ConversationConfig | None = None,
                   update_id: str | None = None, expect_turn: int | None = None,
                   stream_key: str | None = None) -> TurnResult:
        """Send one turn and wait for the reply. ``message``: the user's text, one message, or a
        ``ChatRequest`` holding only the new messages plus parameters. ``config`` applies when this
        call starts the conversation. ``stream_key``: the reply's deltas are published under this
        key while it is generated (open it on a ``StreamReader`` first; :func:`stream_turn`).
        Raises :class:`TurnFailed`; ``ValueError`` for a malformed turn."""
        cfg = config or self.defaults
        wf_id = self.workflow_id(conversation_id, cfg.tenant)
        turn = await self._turn_input(wf_id, _as_request(message), expect_turn)
        turn.stream_key = stream_key
        start = WithStartWorkflowOperation(
            CONVERSATION_WORKFLOW, ConversationInput(conversation_id=conversation_id, config=cfg), id=wf_id,
            task_queue=self.task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_timeout=self._task_timeout,
            static_summary=f"conversation {conversation_id} ({cfg.task_type or 'default'} route, tenant {cfg.tenant})",
            search_attributes=TypedSearchAttributes([SearchAttributePair(sa.TASK_TYPE, cfg.task_type or "default"),
                                                     SearchAttributePair(sa.TENANT, cfg.tenant)]))
        try:
            result: TurnResult = await self.client.execute_update_with_start_workflow(
                CONVERSATION_TURN_UPDATE, turn, start_workflow_operation=start, id=update_id, result_type=TurnResult)
        except WorkflowUpdateFailedError as e:
            raise TurnFailed(conversation_id, _failure(e.cause)) from None
        if result.response is None and result.response_ref and self._payloads is not None:
            result.response = ChatResponse.model_validate(json.loads(await self._payloads.get(result.response_ref)))
        return result

    async def view(self, conversation_id: str, tenant: str | None = None) -> ConversationView | None:
        """The ``view`` query (recent transcript, pin and pin history); ``None`` if it never ran."""
        handle = self.client.get_workflow_handle(self.workflow_id(conversation_id, tenant))
        try:
            return await handle.query(CONVERSATION_VIEW_QUERY, result_type=ConversationView)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return None
            raise

    async def close(self, conversation_id: str, reason: str = "closed by the caller",
                    tenant: str | None = None) -> ConversationView:
        """Close the running conversation for good (later turns fail with ``ConversationClosed``)."""
        handle = self.client.get_workflow_handle(self.workflow_id(conversation_id, tenant))
        try:
            return await handle.execute_update(CONVERSATION_CLOSE_UPDATE, CloseInput(reason=reason),
                                               result_type=ConversationView)
        except WorkflowUpdateFailedError as e:
            raise TurnFailed(conversation_id, _failure(e.cause)) from None

    async def transcript(self, conversation_id: str, tenant: str | None = None) -> list[TranscriptEntry]:
        """The whole stored transcript, oldest first (needs ``store``)."""
        if self._store is None:
            raise RuntimeError("ConversationClient.transcript needs a ConversationStore (store=...)")
        return await self._store.transcript(self.workflow_id(conversation_id, tenant))

    async def _turn_input(self, workflow_id: str, req: ChatRequest, expect_turn: int | None) -> TurnInput:
        problem = message_problem(req)
        if problem:
            raise ValueError(problem)
        body = req.model_dump_json(exclude_none=True).encode()
        if len(body) <= MAX_INLINE_TURN_BYTES:
            return TurnInput(request=req, expect_turn=expect_turn)
        if self._payloads is None:
            raise ValueError(f"the turn is {len(body)} bytes, over the {MAX_INLINE_TURN_BYTES}-byte inline limit, and "
                             "no payload store was given to hold it (ConversationClient(payloads=...))")
        ref = await self._payloads.put(workflow_id, "chat.request", body)
        return TurnInput(request_ref=ref, estimated_tokens=estimate_prompt_tokens(req), expect_turn=expect_turn)


def _as_request(message: Message) -> ChatRequest:
    if isinstance(message, ChatRequest):
        return message
    if isinstance(message, ChatMessage):
        return ChatRequest(messages=[message])
    return ChatRequest(messages=[ChatMessage(role="user", content=message)])


def _failure(cause: BaseException | None) -> RequestFailure:
    """The :class:`RequestFailure` behind a failed or rejected update."""
    if isinstance(cause, ApplicationError) and cause.details:
        return RequestFailure.model_validate(cause.details[0])
    if isinstance(cause, ApplicationError):
        cls = cause.type or "Unknown"
        return RequestFailure(error_class=cls, message=cause.message, status=_STATUS.get(cls, 400),
                              trace=RoutingTrace(route=""))
    return RequestFailure(error_class="Unknown", message=str(cause), status=500, trace=RoutingTrace(route=""))


async def stream_turn(conv: ConversationClient, reader: StreamReader, conversation_id: str, message: Message,
                      on_text: Callable[[str], object], **send_kw: Any) -> TurnResult:
    """:meth:`ConversationClient.send` with the reply's text handed to ``on_text`` as it is
    generated (through the shared stream channel: the turn runs on whichever worker holds the
    conversation). The text the channel missed is handed over from the durable reply at the end,
    so everything ``on_text`` receives joins to the whole reply. Raises as ``send``."""
    key = f"turn-{uuid7().hex}"
    state = reader.open(key)
    sent = 0
    try:
        reply = asyncio.ensure_future(conv.send(conversation_id, message, stream_key=key, **send_kw))
        async for upd in follow_until(state.follow(), reply):
            if upd is not None and upd.text:
                sent += len(upd.text)
                on_text(upd.text)
        result = await reply
        rest = result.text()[sent:]
        if rest:
            on_text(rest)
        return result
    finally:
        reader.release(state)
