"""The ``turn`` update's validator rules: reject malformed and late turns before they enter history.

A validator must not change state and must not block (Temporal runs it before accepting the
update; a rejection is answered to the caller and writes nothing to history). Every rejection is a
non-retryable ``ApplicationError`` whose ``type`` says why (``core/conversation.py``):

- ``ConversationClosed``: the conversation was closed (or a close is in progress);
- ``DuplicateTurn``: this update id was already processed (in this run Temporal deduplicates by
  itself; across continue-as-new the recent ids are carried in the state);
- ``OutOfOrderTurn``: ``expect_turn`` was given and the conversation is not at that turn, or a turn
  is still in flight (a late or replayed turn);
- ``InvalidRequest``: neither or both of ``request``/``request_ref``; no new message; an assistant
  message among the new ones (replies come from targets); the last new message is not a user or tool
  message; an empty user message; streaming asked for; an inline request over the payload limit.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from core.chat import ChatRequest
from core.conversation import (
    CONVERSATION_CLOSED,
    DUPLICATE_TURN,
    INVALID_TURN,
    MAX_INLINE_TURN_BYTES,
    OUT_OF_ORDER_TURN,
    ConversationState,
    TurnInput,
)

_NEW_ROLES = {"system", "developer", "user", "tool"}


def closed_error(conversation_id: str) -> ApplicationError:
    """The error of a turn sent to a closed conversation."""
    return ApplicationError(f"conversation {conversation_id} is closed", type=CONVERSATION_CLOSED,
                            non_retryable=True)


def _reject(kind: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def message_problem(req: ChatRequest) -> str | None:
    """What is wrong with a turn's new messages (``None``: nothing); the size is checked apart."""
    msgs = req.messages
    bad = [m.role for m in msgs if m.role not in _NEW_ROLES]
    if bad:
        return (f"a turn sends only its new messages (system, developer, user, tool); got role {bad[0]} "
                "(assistant turns come from the targets and are already in the transcript)")
    if msgs[-1].role not in ("user", "tool"):
        return f"the last new message must be a user or tool message, not {msgs[-1].role}"
    if any(m.role == "user" and not m.text().strip() and not isinstance(m.content, list) for m in msgs):
        return "a user message must not be empty"
    if req.stream:
        return "streaming is not available for conversation turns; send stream=false"
    return None


def request_problem(inp: TurnInput) -> str | None:
    """What is wrong with the turn's request (``None``: nothing)."""
    if (inp.request is None) == (inp.request_ref is None):
        return "a turn needs exactly one of request (the new messages) and request_ref"
    if inp.request is None:
        return None
    problem = message_problem(inp.request)
    if problem:
        return problem
    size = len(inp.request.model_dump_json(exclude_none=True))
    if size > MAX_INLINE_TURN_BYTES:
        return (f"the turn's request is {size} bytes, over the {MAX_INLINE_TURN_BYTES}-byte inline limit: store it "
                "and send request_ref (ConversationClient does this)")
    return None


def order_error(inp: TurnInput, conversation_id: str, st: ConversationState, *, busy: bool) -> ApplicationError | None:
    """The ``OutOfOrderTurn`` rejection when ``expect_turn`` does not match (``None``: it matches or
    was not given). Checked again by the handler once a fresh execution has read its stored state."""
    if inp.expect_turn is None or (not busy and inp.expect_turn == st.turns + 1):
        return None
    state = "a turn is in flight" if busy else f"it has {st.turns} answered turn(s)"
    return _reject(OUT_OF_ORDER_TURN, f"expected to be turn {inp.expect_turn} of conversation {conversation_id}, "
                                      f"but {state}")


def check_turn(inp: TurnInput, conversation_id: str, st: ConversationState, *, closing: bool, busy: bool,
               update_id: str) -> None:
    """Raise the rejection of a turn that must not be accepted (see module docstring)."""
    if closing or st.status == "closed":
        raise closed_error(conversation_id)
    if update_id in st.seen_updates:
        raise _reject(DUPLICATE_TURN, f"update {update_id} was already processed in conversation {conversation_id}")
    late = order_error(inp, conversation_id, st, busy=busy) if st.resumed else None
    if late:
        raise late
    problem = request_problem(inp)
    if problem:
        raise _reject(INVALID_TURN, problem)
