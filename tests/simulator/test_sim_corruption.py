"""Every ``corrupt_kind`` has its effect on a 200 answer, and task profiles fail their check."""

from __future__ import annotations

import json
import random
import re

import httpx
import pytest

from simulator.corrupt import FOREIGN_RUNS, corrupt_text
from simulator.text import compose, keywords

OPENAI = "openai/gpt-4o@us-east"
OPENAI_EU = "openai/gpt-4o@eu-west"
ANTHROPIC = "anthropic/claude-sonnet-4@us-east"
PROMPT = "Summarise the quarterly revenue report for the marketing department"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 2000}
JSON_CHAT = {**CHAT, "response_format": {"type": "json_object"},
             "messages": [{"role": "system", "content": "Reply in JSON."}, *CHAT["messages"]]}
NON_LATIN = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff]")


async def _answer(http: httpx.AsyncClient, body: dict | None = None, headers: dict | None = None) -> str:
    r = await http.post("/v1/chat/completions", json=body or CHAT, headers=headers)
    assert r.status_code == 200
    return r.json()["choices"][0]["message"]["content"]


async def test_clean_answer_is_on_topic(http: httpx.AsyncClient) -> None:
    text = await _answer(http)
    assert "quarterly" in text and text.endswith(".") and not NON_LATIN.search(text)


@pytest.mark.parametrize("kind", ["foreign_script", "repetition", "empty", "truncated", "off_topic", "invalid_json"])
async def test_each_corrupt_kind(kind: str, http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, corrupt_share=1.0, corrupt_kind=kind, output_tokens=60)
    text = await _answer(http)
    if kind == "foreign_script":
        assert NON_LATIN.search(text) and "quarterly" in text
    elif kind == "repetition":
        words = text.split()
        loop = " ".join(words[-4:])
        assert text.count(loop) >= 5
    elif kind == "empty":
        assert text == ""
    elif kind == "truncated":
        assert text and not text.endswith(".") and len(text) < 60 * 4
    elif kind == "off_topic":
        assert text and not set(keywords(PROMPT)) & set(keywords(text))
    else:
        with pytest.raises(ValueError):
            json.loads(text)
    assert (await control.stats(OPENAI))["corrupted"] == 1


async def test_json_answers_stay_parseable_under_foreign_script(http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, corrupt_share=1.0, corrupt_kind="foreign_script")
    text = await _answer(http, JSON_CHAT)
    assert NON_LATIN.search(json.dumps(json.loads(text), ensure_ascii=False))


async def test_invalid_json_on_json_mode(http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, corrupt_share=1.0, corrupt_kind="invalid_json")
    with pytest.raises(ValueError):
        json.loads(await _answer(http, JSON_CHAT))


async def test_corrupted_tool_call_on_object_protocols(http: httpx.AsyncClient, control) -> None:
    await control.apply(ANTHROPIC, corrupt_share=1.0, corrupt_kind="truncated")
    r = await http.post("/v1/messages", json={
        "model": "claude-sonnet-4", "max_tokens": 300, "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [{"name": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                                       "required": ["city"]}}],
        "tool_choice": {"type": "any"}})
    block = r.json()["content"][0]
    assert block["type"] == "tool_use" and block["input"] == {}  # required "city" missing


async def test_task_profile_quality_fails_the_tasks_check(http: httpx.AsyncClient) -> None:
    body = JSON_CHAT
    header = {"x-switchyard-task-type": "json_extraction"}
    json.loads(await _answer(http, body, header))  # us-east has no profile: valid JSON
    json.loads(await _answer(http, {**body}, None))
    eu = await http.post("/r/eu-west/v1/chat/completions", json=body, headers=header)
    with pytest.raises(ValueError):
        json.loads(eu.json()["choices"][0]["message"]["content"])  # quality 0: always fails
    plain = await http.post("/r/eu-west/v1/chat/completions", json=CHAT, headers=header)
    text = plain.json()["choices"][0]["message"]["content"]
    assert "quarterly" not in text or not text.endswith(".")  # off topic or truncated
    no_header = await http.post("/r/eu-west/v1/chat/completions", json=body)
    json.loads(no_header.json()["choices"][0]["message"]["content"])


def test_corrupt_text_units() -> None:
    rng = random.Random(3)
    text = compose(["revenue", "report"], 50, rng)
    assert any(run in corrupt_text(text, "foreign_script", rng) for run in FOREIGN_RUNS)
    assert corrupt_text(text, "empty", rng) == ""
    with pytest.raises(ValueError):
        corrupt_text(text, "bogus", rng)
