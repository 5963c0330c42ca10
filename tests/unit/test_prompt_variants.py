"""Prompt variants (``core/prompt_variants.py``), the transformation's pure parts
(``core/prompt_transform.py``) and their config errors with field paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.chat import ChatMessage, ChatRequest
from core.prompt_transform import family_of, needs_rewrite, rewrite_id, rewrite_request, source_hash, usable
from core.prompt_variants import PromptsConfig, apply_prompt, select_variant, template_fields
from worker.config_loader import ConfigError, load_config, parse_config
from worker.simulated import sim_config_dict

CLAUDE = "anthropic/claude-3-5-sonnet@us-east"
GPT = "openai/gpt-4o@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"

PROMPTS = PromptsConfig.model_validate({
    "system": "You answer for {company}.",
    "few_shot": [{"user": "Where is my order?", "assistant": "Which order number?"}],
    "variables": {"company": "Acme", "tone": "brief"},
    "variants": {
        "claude-*": {"system": "<role>You answer for {company}, {tone}.</role>"},
        "anthropic/claude-3-5-sonnet@us-east": {"system": "Exact: {company}."},
        "gemini": {"few_shot": [{"user": "Status?", "assistant": "Order number, please."}]},
    },
})


def _req(*messages: tuple[str, str], metadata: dict[str, str] | None = None) -> ChatRequest:
    return ChatRequest(messages=[ChatMessage(role=r, content=c) for r, c in messages], metadata=metadata)


def test_most_specific_variant_wins() -> None:
    assert select_variant(PROMPTS, CLAUDE)[0] == "anthropic/claude-3-5-sonnet@us-east"
    assert select_variant(PROMPTS, "anthropic/claude-sonnet-4@us-east")[0] == "claude-*"
    assert select_variant(PROMPTS, GEMINI)[0] == "gemini"
    assert select_variant(PROMPTS, GPT) == ("default", None)
    assert select_variant(PromptsConfig(), GPT) == (None, None)


def test_prefix_placement_keeps_the_callers_system_message_after_the_routes() -> None:
    got = apply_prompt(PROMPTS, _req(("system", "Caller rules."), ("user", "Hi")), "anthropic/claude-sonnet-4@x")
    assert got.variant == "claude-*" and got.template == "<role>You answer for {company}, {tone}.</role>"
    assert [(m.role, m.content) for m in got.request.messages] == [
        ("system", "<role>You answer for Acme, brief.</role>"), ("system", "Caller rules."),
        ("user", "Where is my order?"), ("assistant", "Which order number?"), ("user", "Hi")]


def test_replace_placement_drops_the_callers_system_messages_and_metadata_fills_variables() -> None:
    prompts = PROMPTS.model_copy(update={"placement": "replace"})
    got = apply_prompt(prompts, _req(("system", "Caller rules."), ("developer", "More."), ("user", "Hi"),
                                     metadata={"company": "Globex", "unrelated": "x"}), GPT)
    assert [(m.role, m.content) for m in got.request.messages][:1] == [("system", "You answer for Globex.")]
    assert all(m.content not in ("Caller rules.", "More.") for m in got.request.messages)


def test_variant_without_system_falls_back_to_the_routes_and_uses_its_own_few_shot() -> None:
    got = apply_prompt(PROMPTS, _req(("user", "Hi")), GEMINI)
    assert [m.content for m in got.request.messages] == [
        "You answer for Acme.", "Status?", "Order number, please.", "Hi"]


def test_override_replaces_the_template_and_is_rendered() -> None:
    got = apply_prompt(PROMPTS, _req(("user", "Hi")), CLAUDE, system_override="Rewritten for {company}.")
    assert got.request.messages[0].content == "Rewritten for Acme."
    assert got.template == "Exact: {company}."  # the source stays the variant's template


def test_no_prompts_leaves_the_request_unchanged() -> None:
    req = _req(("system", "Caller."), ("user", "Hi"))
    assert apply_prompt(None, req, GPT).request == req
    assert apply_prompt(PromptsConfig(), req, GPT).variant is None


def test_template_fields_and_malformed_templates() -> None:
    assert template_fields("A {x} and {{literal}} {y}") == ["x", "y"]
    for bad in ("{0}", "{a.b}", "{", "{}"):
        with pytest.raises(ValueError):
            template_fields(bad)


def _cfg_with(prompts: dict) -> dict:
    data = sim_config_dict("http://127.0.0.1:1")
    data["routes"]["support_reply"]["prompts"] = prompts
    return data


def _problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_config(yaml.safe_dump(data))
    return e.value.problems


def test_unknown_variable_error_names_the_field_path() -> None:
    problems = _problems(_cfg_with({"variables": {"company": "Acme"}, "system": "For {company} {tone}",
                                    "variants": {"anthropic": {"system": "{nope} here",
                                                               "few_shot": [{"user": "{bad", "assistant": "x"}]}}}))
    assert "routes.support_reply.prompts.system: unknown variable {tone} (declared in variables: company)" in problems
    assert any(p.startswith("routes.support_reply.prompts.variants.anthropic.system: unknown variable {nope}")
               for p in problems)
    assert any(p.startswith("routes.support_reply.prompts.variants.anthropic.few_shot[0].user:") for p in problems)


def test_variant_keys_and_transform_targets_must_match_targets() -> None:
    problems = _problems(_cfg_with({"system": "x", "variants": {"mistral-*": {"system": "y"}},
                                    "transform": {"by": "openai/gpt-5@us-east", "only": ["nobody"]}}))
    assert any(p.startswith("routes.support_reply.prompts.variants.mistral-*: matches no target") for p in problems)
    assert any(p.startswith("routes.support_reply.prompts.transform.by: no target") for p in problems)
    assert any(p.startswith("routes.support_reply.prompts.transform.only[0]:") for p in problems)


def test_system_file_is_read_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "claude.txt").write_text("<role>Claude for {company}</role>\n")
    data = _cfg_with({"variables": {"company": "Acme"}, "system": "Default.",
                      "variants": {"claude-*": {"system_file": "prompts/claude.txt"}}})
    path = tmp_path / "sy.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_config(path)
    variant = cfg.routes["support_reply"].prompts.variants["claude-*"]
    assert variant.system == "<role>Claude for {company}</role>" and variant.system_file == "prompts/claude.txt"


def test_missing_system_file_and_text_config_errors(tmp_path: Path) -> None:
    data = _cfg_with({"variants": {"claude-*": {"system_file": "nope.txt"}}})
    path = tmp_path / "sy.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.problems[0].startswith("routes.support_reply.prompts.variants.claude-*.system_file: (file)")
    assert any("system_file: not read" in p for p in _problems(data))  # parsed from text: no folder to read from


def test_transform_keys_and_policy() -> None:
    assert family_of(CLAUDE) == "anthropic/claude-3-5-sonnet"
    assert source_hash("a") == source_hash("a") != source_hash("b") and len(source_hash("a")) == 16
    assert rewrite_id("r", "f", "h") != rewrite_id("r", "f2", "h")
    assert usable("pinned", "pinned") and usable("draft", "draft") and not usable("draft", "pinned")
    assert not usable("rejected", "draft")
    assert needs_rewrite(None, 0) and not needs_rewrite("pending", 10) and needs_rewrite("pending", 301)
    assert not needs_rewrite("rejected", 1e9) and not needs_rewrite("draft", 1e9) and needs_rewrite("failed", 601)
    req = rewrite_request("You answer for {company}.", "anthropic/claude-3-5-sonnet", 500)
    assert req.messages[1].content == "You answer for {company}." and req.max_tokens == 500
    assert "anthropic/claude-3-5-sonnet" in req.messages[0].content
