"""Each output normaliser on its own (``core/normalize.py``), and the order they run in."""

from __future__ import annotations

import json

import pytest

from core.chat import ChatMessage, ChatRequest
from core.normalize import (
    REPAIR_PREFIX,
    limit_chars,
    map_markdown,
    normalize_text,
    repair_request,
    request_schema,
    schema_errors,
    strip_preamble,
    strip_signoff,
    unwrap_json,
)
from core.normalize_config import NormalizeConfig

SCHEMA = {"type": "object", "required": ["sku", "qty"], "additionalProperties": False,
          "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}


@pytest.mark.parametrize("text, rest", [
    ("Sure! Here is the summary:\n\nThe refill ships Monday.", "The refill ships Monday."),
    ("Certainly.\nThe refill ships Monday.", "The refill ships Monday."),
    ("Here's the JSON: {\"a\": 1}", "{\"a\": 1}"),
    ("Of course! Here you go:\nThe refill ships Monday.", "The refill ships Monday."),
    ("I've prepared the summary you asked for:\n- item one", "- item one"),
])
def test_strip_preamble_drops_an_announcing_first_line(text: str, rest: str) -> None:
    out, detail = strip_preamble(text)
    assert out == rest and detail is not None and detail.startswith("removed")


@pytest.mark.parametrize("text", [
    "Sure, the refill ships Monday.\nIt was delayed by the pharmacy.",  # "Sure" starts real content
    "Here is why: the pharmacy was closed",  # nothing after the colon line but the content itself
    "Sure!",  # nothing would be left
    "The refill ships Monday.",
])
def test_strip_preamble_keeps_answers_that_start_with_content(text: str) -> None:
    assert strip_preamble(text) == (text, None)


@pytest.mark.parametrize("text, rest", [
    ("The refill ships Monday.\n\nLet me know if you have any other questions!", "The refill ships Monday."),
    ("The refill ships Monday. I hope this helps!", "The refill ships Monday."),
    ("Step one.\nStep two.\nFeel free to reach out if anything is unclear.", "Step one.\nStep two."),
])
def test_strip_signoff_drops_a_closing_last_paragraph(text: str, rest: str) -> None:
    out, detail = strip_signoff(text)
    assert out == rest and detail is not None


@pytest.mark.parametrize("text", [
    "Feel free to call the pharmacy.",  # the whole answer: nothing would be left
    "The refill ships Monday.\n\nThe pharmacy opens at 9.",
    "Intro.\n\n" + "Let me know if " + "x" * 400,  # too long to be a sign-off
])
def test_strip_signoff_keeps_real_content(text: str) -> None:
    assert strip_signoff(text) == (text, None)


@pytest.mark.parametrize("text, expected", [
    ('```json\n{"sku": "A-1", "qty": 2}\n```', '{"sku": "A-1", "qty": 2}'),
    ('Sure! Here it is:\n```\n[1, 2]\n```\nAnything else?', "[1, 2]"),
    ('The order is {"sku": "A-1", "qty": 2} as requested.', '{"sku": "A-1", "qty": 2}'),
    ('  {"a": 1}\n', '{"a": 1}'),
])
def test_unwrap_json_finds_the_json_inside_fences_or_prose(text: str, expected: str) -> None:
    out, detail = unwrap_json(text)
    assert out == expected and detail is not None
    json.loads(out)


def test_unwrap_json_leaves_valid_and_hopeless_text_alone() -> None:
    assert unwrap_json('{"a": 1}') == ('{"a": 1}', None)
    assert unwrap_json('{"a": 1') == ('{"a": 1', None)
    assert unwrap_json("```python\nprint(1)\n```") == ("```python\nprint(1)\n```", None)


def test_limit_chars_cuts_at_a_sentence_end_within_the_limit() -> None:
    text = "The refill ships Monday. The pharmacy confirmed the stock. It opens at nine."
    out, detail = limit_chars(text, 60)
    assert out == "The refill ships Monday. The pharmacy confirmed the stock."
    assert len(out) <= 60 and detail == f"cut from {len(text)} to at most 60 chars"
    assert limit_chars(text, 500) == (text, None)


def test_limit_chars_falls_back_to_a_space_then_a_hard_cut() -> None:
    words = "alpha beta gamma delta epsilon zeta eta theta"
    out, _ = limit_chars(words, 20)
    assert out == "alpha beta gamma" and len(out) <= 20
    out, _ = limit_chars("x" * 50, 20)
    assert out == "x" * 20


def test_markdown_plain_removes_markup() -> None:
    text = "# Refill\n**Ships** on *Monday*, see [the portal](https://example.com).\n* one\n+ two\nRun `refill`."
    out, detail = map_markdown(text, "plain")
    assert out == "Refill\nShips on Monday, see the portal (https://example.com).\n- one\n- two\nRun refill."
    assert detail == "markdown mapped to plain"


def test_markdown_standard_unifies_conventions() -> None:
    out, _ = map_markdown("Intro\n## Steps\n* one\n+ two\n__done__", "standard")
    assert out == "Intro\n\n## Steps\n- one\n- two\n**done**"
    assert map_markdown("- one\n**done**", "standard") == ("- one\n**done**", None)
    assert map_markdown("# x", "keep") == ("# x", None)


def test_normalize_text_runs_the_configured_steps_and_records_each_change() -> None:
    cfg = NormalizeConfig(strip_preamble=True, strip_signoff=True, markdown="plain", max_chars=40)
    text = "Sure! Here is the answer:\n\n**The refill** ships Monday. It was late.\n\nHope this helps!"
    out, changes = normalize_text(text, cfg, json_answer=False)
    assert out == "The refill ships Monday. It was late."
    assert [c.step for c in changes] == ["strip_preamble", "strip_signoff", "markdown"]
    assert changes[0].chars_before == len(text) and changes[-1].chars_after == len(out)


def test_normalize_text_on_json_unwraps_and_skips_prose_steps() -> None:
    cfg = NormalizeConfig(strip_preamble=True, markdown="plain", max_chars=16)
    text = 'Here is the JSON:\n```json\n{"sku": "A-1", "qty": 2}\n```'
    out, changes = normalize_text(text, cfg, json_answer=True)
    assert out == '{"sku": "A-1", "qty": 2}'  # not cut to 16 chars, no markdown mapping
    assert [c.step for c in changes] == ["unwrap_json_fence"]


def test_normalize_text_off_changes_nothing() -> None:
    text = "Sure! Here is the answer:\n\n**x**"
    assert normalize_text(text, NormalizeConfig(), json_answer=False) == (text, [])


def test_schema_errors_name_the_json_path() -> None:
    assert schema_errors('{"sku": "A-1", "qty": 2}', SCHEMA) == []
    errors = schema_errors('{"sku": 7, "qty": 0}', SCHEMA)
    assert any(e.startswith("$.sku:") for e in errors) and any(e.startswith("$.qty:") for e in errors)
    assert schema_errors('{"sku": "A-1"', SCHEMA)[0].startswith("not valid JSON")
    assert schema_errors("[1]", None) == []


def test_request_schema_reads_response_format() -> None:
    req = ChatRequest(messages=[ChatMessage(role="user", content="x")],
                      response_format={"type": "json_schema", "json_schema": {"name": "o", "schema": SCHEMA}})
    assert request_schema(req) == SCHEMA
    assert request_schema(req.model_copy(update={"response_format": {"type": "json_object"}})) is None


def test_repair_request_carries_the_bad_answer_and_the_errors() -> None:
    req = ChatRequest(messages=[ChatMessage(role="user", content="order?")], stream=True,
                      response_format={"type": "json_object"})
    fixed = repair_request(req, '{"sku": 7}', ["$.sku: 7 is not of type \"string\""])
    assert [m.role for m in fixed.messages] == ["user", "assistant", "user"]
    assert fixed.messages[1].content == '{"sku": 7}'
    assert fixed.messages[2].content.startswith(REPAIR_PREFIX) and "$.sku" in fixed.messages[2].content
    assert fixed.response_format == req.response_format and fixed.stream is None


def test_invalid_json_schema_in_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a valid JSON Schema"):
        NormalizeConfig(json_schema={"type": "nonsense"})
