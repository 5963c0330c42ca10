"""``core/semantic.py``: which text a request asks, and the near-miss guard."""

from __future__ import annotations

from core.chat import ChatRequest
from core.semantic import question, same_particulars


def req(*messages: tuple[str, str]) -> ChatRequest:
    return ChatRequest.model_validate({"messages": [{"role": r, "content": c} for r, c in messages]})


def test_question_is_the_only_user_message_of_a_first_turn() -> None:
    assert question(req(("system", "Be brief."), ("user", "Where is order 123?"))) == "Where is order 123?"
    assert question(req(("user", "hi"), ("assistant", "hello"), ("user", "Where is order 123?"))) is None


def test_guard_separates_ids_numbers_and_negations_but_not_paraphrases() -> None:
    assert not same_particulars("Refund order 123", "Refund order 124")
    assert not same_particulars("Where is my order NW-48213?", "Where is my order NW-48214?")
    assert not same_particulars("Cancel my subscription", "Don't cancel my subscription")
    assert same_particulars("How do I reset my password?", "What's the way to reset my password?")
