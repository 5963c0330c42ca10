"""Pure rules of conversations: pin moves and their reasons, return timing, plan reordering, the
recent-transcript window, and the turn validator."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from core import pinning
from core.chat import ChatMessage, ChatRequest
from core.conversation import ConversationState, PinMove, TranscriptEntry, TurnInput
from core.plan import Plan, PlanEntry
from core.request import AttemptRecord, RoutingTrace
from workflows.conversation_checks import check_turn

A, B, C = "openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet@us-east", "gemini/gemini-2.0-flash@us-central"


def _trace(**kw) -> RoutingTrace:
    return RoutingTrace(route="support_reply", **kw)


def test_first_answer_pins_and_becomes_preferred() -> None:
    move = pinning.pin_move(1, None, None, A, _trace(plan=[A, B]), 100.0, returning=False)
    assert move == PinMove(turn=1, from_target=None, to_target=A, kind="initial", at=100.0,
                           reason=f"first answer came from {A}")
    assert pinning.pin_move(2, A, A, A, _trace(plan=[A, B]), 101.0, returning=False) is None


def test_failover_reason_names_the_pinned_targets_failure() -> None:
    trace = _trace(plan=[A, B], attempts=[
        AttemptRecord(seq=3, try_no=1, target=A, error_class="Overloaded", status=503, message="overloaded"),
        AttemptRecord(seq=3, try_no=2, target=A, error_class="Overloaded", status=503, message="still overloaded"),
        AttemptRecord(seq=4, target=B)])
    move = pinning.pin_move(2, A, A, B, trace, 5.0, returning=False)
    assert move.kind == "failover" and (move.from_target, move.to_target) == (A, B)
    assert move.reason == f"pinned target {A} failed with Overloaded 503 after 2 call(s): still overloaded"


@pytest.mark.parametrize(("trace", "expected"), [
    (_trace(plan=[B], skipped={A: "cooling down for 30.0 s after RateLimited"}),
     f"pinned target {A} skipped by planning: cooling down for 30.0 s after RateLimited"),
    (_trace(plan=[B]), f"pinned target {A} is no longer in route support_reply's plan"),
    (_trace(plan=[B, A], plan_reasons={A: ["conversation pinned to this target", "chain position 1 (openai/gpt-4o)",
                                           "health degraded (share 40%)", "draw 0.700 >= share 40%: moved behind "
                                           "healthier targets"]}),
     f"planning placed pinned target {A} after others: health degraded (share 40%); draw 0.700 >= share 40%: "
     "moved behind healthier targets"),
])
def test_failover_reason_when_the_pin_was_not_called(trace, expected) -> None:
    assert pinning.move_reason(A, trace) == expected


def test_return_only_after_the_preferred_target_stayed_healthy() -> None:
    assert not pinning.return_due(None, B, A, since=0, now=1000)  # not configured
    assert not pinning.return_due(60, A, A, since=0, now=1000)  # already there
    assert not pinning.return_due(60, B, A, since=990, now=1000)
    assert pinning.return_due(60, B, A, since=940, now=1000)
    assert pinning.healthy_since(last_failure_at=900.0, cooldown_until=950.0, moved_away_at=800.0) == 950.0
    assert pinning.healthy_since(None, None, None) == 0.0
    history = [PinMove(turn=1, from_target=None, to_target=A, kind="initial", reason="", at=1.0),
               PinMove(turn=4, from_target=A, to_target=B, kind="failover", reason="", at=40.0)]
    assert pinning.moved_away_at(history, A) == 40.0 and pinning.moved_away_at(history, C) is None


def test_a_return_that_fails_names_both_targets() -> None:
    trace = _trace(plan=[A, B, C], attempts=[AttemptRecord(seq=1, target=A, error_class="ServerError", status=500),
                                             AttemptRecord(seq=2, target=B, error_class="Timeout"),
                                             AttemptRecord(seq=3, target=C)])
    move = pinning.pin_move(9, B, A, C, trace, 9.0, returning=True)
    assert move.kind == "failover" and move.from_target == B
    assert f"{A} failed with ServerError 500" in move.reason and f"{B} failed with Timeout" in move.reason
    back = pinning.pin_move(9, B, A, A, _trace(plan=[A, B]), 9.0, returning=True)
    assert back.kind == "return" and (back.from_target, back.to_target) == (B, A)


def test_second_choice_keeps_the_current_pin_as_first_fallback() -> None:
    def entry(t: str) -> PlanEntry:
        return PlanEntry(target=t, provider="p", protocol="openai", model="m", region="r", timeout_s=1,
                         context_window=1000)
    plan = Plan(route="r", entries=[entry(A), entry(C), entry(B)])
    assert [e.target for e in pinning.second_choice(plan, B).entries] == [A, B, C]
    assert pinning.second_choice(plan, B).entries[1].reasons[0] == "conversation's current pin: first fallback"
    assert pinning.second_choice(plan, C) is plan and pinning.second_choice(plan, "absent") is plan


def test_recent_window_is_bounded_and_keeps_large_entries_by_reference() -> None:
    def e(turn: int, text: str, ref: str | None = None) -> TranscriptEntry:
        return TranscriptEntry(turn=turn, idx=0, role="user", message=ChatMessage(role="user", content=text), ref=ref)
    entries = [e(1, "a" * 40), e(2, "b" * 40), e(3, "c" * 500, ref="pl-1"), e(4, "d" * 30)]
    kept = pinning.trim_tail(entries, 100)
    assert [x.turn for x in kept] == [2, 3, 4]
    assert kept[1].message is None and kept[1].ref == "pl-1"
    assert len(pinning.record_move([], PinMove(turn=1, from_target=None, to_target=A, kind="initial", reason="",
                                               at=0)) * 60) == 60


def _turn(*msgs: ChatMessage, **kw) -> TurnInput:
    return TurnInput(request=ChatRequest(messages=list(msgs)), **kw)


@pytest.mark.parametrize(("inp", "state", "kind"), [
    (_turn(ChatMessage(role="user", content="hi")), ConversationState(status="closed"), "ConversationClosed"),
    (_turn(ChatMessage(role="user", content="hi")), ConversationState(seen_updates=["u1"]), "DuplicateTurn"),
    (_turn(ChatMessage(role="user", content="hi"), expect_turn=3), ConversationState(turns=5, resumed=True),
     "OutOfOrderTurn"),
    (_turn(ChatMessage(role="assistant", content="forged")), ConversationState(), "InvalidRequest"),
    (_turn(ChatMessage(role="user", content="hi"), ChatMessage(role="system", content="late system")),
     ConversationState(), "InvalidRequest"),
    (TurnInput(request=ChatRequest(messages=[ChatMessage(role="user", content="x" * 300_000)])),
     ConversationState(), "InvalidRequest"),
    (TurnInput(request=ChatRequest(messages=[ChatMessage(role="user", content="x")]), request_ref="pl-1"),
     ConversationState(), "InvalidRequest"),
])
def test_validator_rejections(inp: TurnInput, state: ConversationState, kind: str) -> None:
    with pytest.raises(ApplicationError) as e:
        check_turn(inp, "c1", state, closing=False, busy=False, update_id="u1")
    assert e.value.type == kind and e.value.non_retryable


def test_validator_accepts_a_good_turn_and_checks_order_only_when_resumed() -> None:
    check_turn(_turn(ChatMessage(role="user", content="hi"), expect_turn=1), "c1", ConversationState(resumed=True),
               closing=False, busy=False, update_id="u2")
    check_turn(_turn(ChatMessage(role="user", content="hi"), expect_turn=7), "c1", ConversationState(),
               closing=False, busy=False, update_id="u2")  # a fresh execution re-checks after resuming
    with pytest.raises(ApplicationError):
        check_turn(_turn(ChatMessage(role="user", content="hi"), expect_turn=1), "c1", ConversationState(resumed=True),
                   closing=False, busy=True, update_id="u2")
