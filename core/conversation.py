"""Inputs, results and carried state of ``ConversationWorkflow`` (one workflow per conversation).

Shapes (pydantic, through Temporal's pydantic converter)::

    ConversationInput(conversation_id, config, state)     start argument, and continue-as-new argument
    TurnInput(request | request_ref, ...)  --update "turn"-->  TurnResult(reply, trace, pin, pin_move)
    CloseInput(reason)                     --update "close"--> ConversationView
    query "view"                                           -> ConversationView (recent transcript, pins)

The transcript lives in the database (``activities/storage/conversations.py``), not in workflow
state: a turn carries only its new messages, the stored history is prepended by the conversation's
attempt activity, and ``ConversationState.turns`` is the cursor ("turns 1..N are stored").
``ConversationState.tail`` keeps only a bounded window of recent entries for the ``view`` query.

Pure data: importable inside workflows. Times are unix seconds; durations in seconds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.chat import ChatMessage, ChatRequest, ChatResponse
from core.request import RoutingTrace

#: Temporal caps updates per run at 2,000 and suggests continue-as-new at 90% of that
#: (``shared/TEMPORAL.md`` section 2.2); a run never takes more turns than this.
MAX_TURNS_PER_RUN = 1800
#: Pin moves kept in workflow state (all of them are also in the database, one per answered turn).
PIN_HISTORY_KEPT = 50
#: Update ids remembered across continue-as-new, so a client retrying an old turn is told so.
SEEN_UPDATES_KEPT = 64
#: Characters of message text kept in ``ConversationState.tail`` for the ``view`` query.
TAIL_CHARS = 32_000

#: Largest inline turn request (bytes of JSON); larger ones go by ``request_ref`` (claim-check),
#: matching the attempt activity's inline limit for answers (``activities/storage/payloads.py``).
MAX_INLINE_TURN_BYTES = 256 * 1024

#: Error types (``ApplicationError.type``) a turn is refused with, besides the request path's own
#: classes (``core/errors.py``, ``AllTargetsFailed``): HTTP 409 for the three conversation states,
#: 503 when the transcript store cannot be reached (the turn can be sent again).
CONVERSATION_CLOSED = "ConversationClosed"
STORAGE_UNAVAILABLE = "StorageUnavailable"
DUPLICATE_TURN = "DuplicateTurn"
OUT_OF_ORDER_TURN = "OutOfOrderTurn"
INVALID_TURN = "InvalidRequest"

Status = Literal["open", "closed", "idle"]
PinKind = Literal["initial", "failover", "return"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationConfig(_Model):
    """Settings fixed when the conversation's workflow starts.

    ``turn_deadline_s``: each turn's whole budget (``None``: the route's deadline).
    ``idle_timeout_s``: the workflow ends after this long without a turn (the next message resumes
    the conversation from the database). ``return_after_s``: once the preferred target (the one that
    answered the first turn) has had no failure and no cooldown for this long, the next turn goes
    back to it (``None``: stay on the new pin). ``max_turns_per_run``: continue-as-new after this
    many turns in one run (also when Temporal suggests it, at 4 MB / 4,096 events).
    """

    task_type: str | None = None
    tenant: str = Field(default="default", max_length=60)
    origin_region: str | None = None
    turn_deadline_s: float | None = Field(default=None, gt=0, le=3600)
    idle_timeout_s: float = Field(default=1800.0, gt=0, le=30 * 86400)
    return_after_s: float | None = Field(default=None, ge=0)
    max_turns_per_run: int = Field(default=500, ge=1, le=MAX_TURNS_PER_RUN)


class PinMove(_Model):
    """The conversation's pin changed: ``kind`` ``initial`` (first answer), ``failover`` (the pinned
    target failed or was skipped) or ``return`` (back to the preferred target); ``at`` unix s."""

    turn: int
    from_target: str | None
    to_target: str
    kind: PinKind
    reason: str
    at: float


class TranscriptEntry(_Model):
    """One stored message: turn number, position in the turn (0..), role, the message, and the
    target that wrote it (assistant messages). ``message`` is ``None`` when the message was too
    large to carry in workflow state: ``ref`` then names its claim-checked payload, or, without a
    ``ref``, it is only in the database (``ConversationClient.transcript`` reads it)."""

    turn: int
    idx: int
    role: str
    message: ChatMessage | None = None
    ref: str | None = None
    target: str | None = None


class ConversationState(_Model):
    """What the workflow carries across continue-as-new (``shared/TEMPORAL.md`` 2.4).

    ``turns``: answered turns, all stored in the database (the transcript cursor). ``next_seq``:
    the next attempt number (outcome rows are keyed by workflow id + seq). ``history_tokens``:
    estimated prompt tokens of the stored transcript (for planning's context-window fit).
    ``resumed``: the database row was consulted (a fresh execution loads it at its first turn).
    """

    turns: int = 0
    next_seq: int = 1
    history_tokens: int = 0
    failed_turns: int = 0
    pinned_target: str | None = None
    preferred_target: str | None = None
    pin_history: list[PinMove] = Field(default_factory=list)
    pin_moves: int = 0
    tail: list[TranscriptEntry] = Field(default_factory=list)
    seen_updates: list[str] = Field(default_factory=list)
    last_active_at: float | None = None
    run_no: int = 1
    status: Status = "open"
    resumed: bool = False


class ConversationInput(_Model):
    """The workflow's argument: the conversation id (unique per tenant), its settings, and the
    carried state (``None`` on a fresh start)."""

    conversation_id: str = Field(min_length=1, max_length=200)
    config: ConversationConfig = Field(default_factory=ConversationConfig)
    state: ConversationState | None = None


class TurnInput(_Model):
    """One turn: ``request`` holds only the new messages (usually one user message; tool results
    later) plus request parameters (``max_tokens``, ``temperature``, ``response_format``, ``tools``).
    ``request_ref``: instead of ``request``, a claim-check reference to a stored ``ChatRequest``
    JSON too large for a Temporal payload, with ``estimated_tokens`` its prompt estimate.
    ``expect_turn``: reject the turn unless it would be this turn number (a late or replayed turn).
    ``stream_key``: stream the reply's deltas under this key (``activities/streams/``; the reader
    opens it before sending the turn), ``None``: no streaming.
    """

    request: ChatRequest | None = None
    request_ref: str | None = None
    estimated_tokens: int = Field(default=0, ge=0)
    expect_turn: int | None = Field(default=None, ge=1)
    stream_key: str | None = Field(default=None, max_length=300)


class TurnResult(_Model):
    """The reply of one turn (OpenAI ``chat.completion``; ``None`` with ``response_ref`` when too
    large for history), its routing trace, the pin after the turn and the move this turn made."""

    conversation_id: str
    workflow_id: str
    turn: int
    response: ChatResponse | None = None
    response_ref: str | None = None
    trace: RoutingTrace
    pinned_target: str
    pin_move: PinMove | None = None

    def text(self) -> str:
        """The reply text ('' when it is stored by reference)."""
        return self.response.text() if self.response else ""


class CloseInput(_Model):
    """Close the conversation for good; later turns fail with ``ConversationClosed``."""

    reason: str = Field(default="closed by the caller", max_length=200)


class ConversationView(_Model):
    """Answer of the ``view`` query and the ``close`` update.

    ``transcript``: the recent window kept in workflow state, from turn ``transcript_from_turn``
    (earlier turns are in the database: ``ConversationClient.transcript``). ``idle_deadline``: unix s
    at which the workflow ends if no turn arrives.
    """

    conversation_id: str
    workflow_id: str
    status: Status
    turns: int
    failed_turns: int
    pinned_target: str | None
    preferred_target: str | None
    pin_history: list[PinMove]
    pin_moves: int
    transcript: list[TranscriptEntry]
    transcript_from_turn: int
    run_no: int
    idle_deadline: float | None = None
