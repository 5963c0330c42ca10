"""Inputs and results of the conversation activities (``activities/conversation.py``).

Every activity is keyed by the conversation's workflow id (``conv-<tenant>-<id>``) and, for a turn,
its turn number; turn numbers are assigned deterministically by the workflow, one per accepted
``turn`` update, so a re-run of the same update writes the same rows (idempotent). No secrets.

Pure data: importable inside workflows. Times are unix seconds.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.attempt import AttemptInput
from core.chat import ChatMessage, ChatRequest, ChatResponse
from core.conversation import PinMove, Status, TranscriptEntry


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TurnAttemptInput(_Model):
    """One attempt of a turn. ``attempt.request`` carries only the turn's new messages and its
    parameters; the activity prepends the stored transcript of turns ``1..history_turns``.
    ``request_ref``: the turn's request was claim-checked (``attempt.request`` is a placeholder)."""

    attempt: AttemptInput
    history_turns: int = Field(ge=0)
    request_ref: str | None = None


class RecordTurnInput(_Model):
    """Store an answered turn: its new messages (inline or ``request_ref``), the reply (inline or
    ``response_ref``), the target that answered, the pin move if any, and the conversation row's
    new values. ``history_tokens``: the estimate before this turn; ``at``: workflow time."""

    workflow_id: str
    conversation_id: str
    tenant: str
    task_type: str | None = None
    turn: int = Field(ge=1)
    update_id: str
    request: ChatRequest | None = None
    request_ref: str | None = None
    response: ChatResponse | None = None
    response_ref: str | None = None
    target: str
    pin_move: PinMove | None = None
    pinned_target: str
    preferred_target: str | None = None
    pin_moves: int = 0
    next_seq: int
    history_tokens: int = 0
    at: float


class RecordTurnResult(_Model):
    """Estimated prompt tokens the turn added to the transcript (its messages and the reply)."""

    tokens: int


class ResumeInput(_Model):
    workflow_id: str
    tail_entries: int = Field(default=20, ge=0, le=200)


class ResumeResult(_Model):
    """A stored conversation's progress (``found`` False: a new conversation). ``tail``: its last
    stored entries, oldest first; ``pin_history``: its last pin moves, oldest first."""

    found: bool = False
    status: Status = "open"
    status_reason: str = ""
    turns: int = 0
    next_seq: int = 1
    history_tokens: int = 0
    pinned_target: str | None = None
    preferred_target: str | None = None
    pin_moves: int = 0
    pin_history: list[PinMove] = Field(default_factory=list)
    tail: list[TranscriptEntry] = Field(default_factory=list)


class MarkInput(_Model):
    """Set the stored conversation's status (``closed``: later turns are refused; ``idle``: the
    workflow ended on its idle timeout and the next turn resumes it)."""

    workflow_id: str
    conversation_id: str
    tenant: str
    task_type: str | None = None
    status: Status
    reason: str = ""
    at: float


class HealthInput(_Model):
    """Has ``target`` failed (a failure that counts against health, from any workflow) since
    ``since``, and is it cooling down?"""

    target: str
    since: float


class HealthResult(_Model):
    last_failure_at: float | None = None
    cooldown_until: float | None = None


def assistant_message(resp: ChatResponse) -> ChatMessage:
    """The transcript message of a reply: first choice's text (or refusal) and tool calls."""
    if not resp.choices:
        return ChatMessage(role="assistant", content="")
    msg = resp.choices[0].message
    content = msg.content if msg.content is not None else (msg.refusal or ("" if not msg.tool_calls else None))
    return ChatMessage(role="assistant", content=content, tool_calls=msg.tool_calls)
