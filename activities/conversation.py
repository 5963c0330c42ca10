"""Conversation activities: a turn's attempt with its history, and the transcript bookkeeping.

All run as local activities inside the conversation's update handler (``workflows/conversation.py``).

- ``switchyard.conversation.attempt``: load the stored transcript of the earlier turns, prepend it
  to the turn's new messages, and call the plain attempt activity's code (``activities/attempt.py``)
  with the whole history. The adapters translate the whole history to the target's protocol
  (system prompt, earlier assistant turns, tool calls and results), so a failover mid-conversation
  sends the next target everything in its own wire format.
- ``switchyard.conversation.record``: store an answered turn (new messages + reply) and the
  conversation row, resolving claim-checked payloads so the transcript holds the full text.
- ``switchyard.conversation.resume``: a fresh execution of a known conversation (after an idle end)
  reads where it was: turns, pin, pin history, attempt numbering.
- ``switchyard.conversation.mark``: status changes (``closed``, ``idle``).
- ``switchyard.conversation.health``: has the preferred target failed, or is it cooling down (for
  the optional return to it).
"""

from __future__ import annotations

import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.attempt import AttemptActivities
from activities.storage.conversations import ConversationRow, ConversationStore, StoredMessage
from activities.storage.cooldowns import CooldownStore
from activities.storage.payloads import PayloadNotFound, PayloadStore
from core.attempt import AttemptResult
from core.chat import ChatRequest, ChatResponse
from core.conversation_io import (
    HealthInput,
    HealthResult,
    MarkInput,
    RecordTurnInput,
    RecordTurnResult,
    ResumeInput,
    ResumeResult,
    TurnAttemptInput,
    assistant_message,
)
from core.errors import ErrorClass
from core.names import (
    CONVERSATION_ATTEMPT_ACTIVITY,
    CONVERSATION_HEALTH_ACTIVITY,
    CONVERSATION_MARK_ACTIVITY,
    CONVERSATION_RECORD_ACTIVITY,
    CONVERSATION_RESUME_ACTIVITY,
)
from core.tokens import estimate_message_tokens


class ConversationActivities:
    """The conversation activities with their collaborators injected (see module docstring).

    ``attempts``: the worker's attempt activities (same config, HTTP pool, outcome and cooldown
    stores), whose code runs each call; ``clock``: unix seconds."""

    def __init__(self, store: ConversationStore, attempts: AttemptActivities, payloads: PayloadStore,
                 cooldowns: CooldownStore, *, clock=time.time) -> None:
        self._store = store
        self._attempts = attempts
        self._payloads = payloads
        self._cooldowns = cooldowns
        self._clock = clock

    def all(self) -> list:
        """Every activity method, for ``Worker(activities=...)``."""
        return [self.attempt, self.record, self.resume, self.mark, self.health]

    @activity.defn(name=CONVERSATION_ATTEMPT_ACTIVITY)
    async def attempt(self, inp: TurnAttemptInput) -> AttemptResult:
        """One attempt of a turn with the whole history; results and errors as the plain attempt."""
        tail = await self._turn_request(inp.attempt.request, inp.request_ref)
        history = await self._store.history(inp.attempt.workflow_id, inp.history_turns)
        request = tail.model_copy(update={"messages": history + tail.messages})
        return await self._attempts.attempt(inp.attempt.model_copy(update={"request": request}))

    @activity.defn(name=CONVERSATION_RECORD_ACTIVITY)
    async def record(self, inp: RecordTurnInput) -> RecordTurnResult:
        """Store an answered turn; returns the estimated tokens it added to the history."""
        request = await self._turn_request(inp.request, inp.request_ref)
        response = inp.response
        if response is None and inp.response_ref:
            response = ChatResponse.model_validate_json(await self._stored(inp.response_ref))
        if response is None:
            raise _invalid(f"turn {inp.turn} of {inp.workflow_id} has neither a response nor a response_ref")
        reply = assistant_message(response)
        rows = [StoredMessage(idx=i, message=m) for i, m in enumerate(request.messages)]
        rows.append(StoredMessage(idx=len(rows), message=reply, target=inp.target, pin=inp.pin_move))
        tokens = sum(estimate_message_tokens(m.message) for m in rows)
        row = ConversationRow(workflow_id=inp.workflow_id, conversation_id=inp.conversation_id, tenant=inp.tenant,
                              task_type=inp.task_type, pinned_target=inp.pinned_target,
                              preferred_target=inp.preferred_target, pin_moves=inp.pin_moves, turns=inp.turn,
                              next_seq=inp.next_seq, history_tokens=inp.history_tokens + tokens, at=inp.at)
        await self._store.record_turn(row, inp.turn, inp.update_id, rows)
        return RecordTurnResult(tokens=tokens)

    @activity.defn(name=CONVERSATION_RESUME_ACTIVITY)
    async def resume(self, inp: ResumeInput) -> ResumeResult:
        """The stored progress of the conversation (``found`` False for a new one)."""
        return await self._store.load(inp.workflow_id, inp.tail_entries)

    @activity.defn(name=CONVERSATION_MARK_ACTIVITY)
    async def mark(self, inp: MarkInput) -> None:
        """Set the stored status (``closed`` refuses later turns; ``idle`` allows resuming)."""
        await self._store.mark(inp)

    @activity.defn(name=CONVERSATION_HEALTH_ACTIVITY)
    async def health(self, inp: HealthInput) -> HealthResult:
        """The target's latest failure since ``inp.since`` and its active cooldown end, if any."""
        cooldown = (await self._cooldowns.active()).get(inp.target)
        return HealthResult(last_failure_at=await self._store.last_failure(inp.target, inp.since),
                            cooldown_until=cooldown.until if cooldown else None)

    async def _turn_request(self, request: ChatRequest | None, ref: str | None) -> ChatRequest:
        if ref:
            return ChatRequest.model_validate_json(await self._stored(ref))
        if request is None:
            raise _invalid("a turn needs a request or a request_ref")
        return request

    async def _stored(self, ref: str) -> bytes:
        try:
            return await self._payloads.get(ref)
        except PayloadNotFound:
            raise _invalid(f"no stored payload {ref}") from None


def _invalid(message: str) -> ApplicationError:
    """A non-retryable ``InvalidRequest`` (a turn that can never succeed as sent)."""
    return ApplicationError(message, type=ErrorClass.INVALID_REQUEST.value, non_retryable=True)
