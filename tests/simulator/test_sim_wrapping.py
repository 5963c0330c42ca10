"""The wrapping kinds (``preamble``, ``signoff``, ``json_fence``), repair requests answered without
corruption, and ``GET /_sim/requests`` (what each target was sent)."""

from __future__ import annotations

import json

import httpx
import pytest

from core.normalize import REPAIR_PREFIX
from simulator.corrupt import PREAMBLE, SIGNOFF

OPENAI = "openai/gpt-4o@us-east"
ANTHROPIC = "anthropic/claude-sonnet-4@us-east"
CHAT = {"model": "gpt-4o", "max_tokens": 400,
        "messages": [{"role": "system", "content": "Answer as the pharmacy."},
                     {"role": "user", "content": "Summarise the refill policy for customers"}]}
JSON_CHAT = {**CHAT, "response_format": {"type": "json_object"},  # OpenAI wants "JSON" in the messages
             "messages": [{"role": "system", "content": "Reply in JSON."}, *CHAT["messages"][1:]]}


async def _text(http: httpx.AsyncClient, body: dict) -> str:
    r = await http.post("/v1/chat/completions", json=body)
    assert r.status_code == 200
    return r.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("kind", ["preamble", "signoff", "json_fence"])
async def test_wrapping_kinds_wrap_the_clean_answer(kind: str, http: httpx.AsyncClient, control) -> None:
    clean = await _text(http, CHAT)
    await control.apply(OPENAI, corrupt_share=1.0, corrupt_kind=kind)
    wrapped = await _text(http, CHAT)
    expected = {"preamble": PREAMBLE + clean, "signoff": clean + SIGNOFF,
                "json_fence": f"```json\n{clean}\n```"}[kind]
    assert wrapped == expected


async def test_fenced_json_holds_the_same_json(http: httpx.AsyncClient, control) -> None:
    clean = json.loads(await _text(http, JSON_CHAT))
    await control.apply(OPENAI, corrupt_share=1.0, corrupt_kind="json_fence")
    fenced = await _text(http, JSON_CHAT)
    assert fenced.startswith("```json\n") and json.loads(fenced[8:-4]) == clean


async def test_a_repair_request_is_answered_without_corruption(http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, corrupt_share=1.0, corrupt_kind="invalid_json")
    with pytest.raises(ValueError):
        json.loads(await _text(http, JSON_CHAT))
    repair = {**JSON_CHAT, "messages": [*JSON_CHAT["messages"], {"role": "assistant", "content": '{"a": '},
                                        {"role": "user", "content": f"{REPAIR_PREFIX}: not valid JSON. Fix it."}]}
    assert isinstance(json.loads(await _text(http, repair)), dict)


async def test_requests_log_shows_what_each_target_received(http: httpx.AsyncClient) -> None:
    await _text(http, CHAT)
    r = await http.post("/v1/messages", json={"model": "claude-sonnet-4", "max_tokens": 100,
                                              "system": [{"type": "text", "text": "Be brief."}],
                                              "messages": [{"role": "user", "content": "Refill status?"}]})
    assert r.status_code == 200
    log = (await http.get("/_sim/requests")).json()
    assert log[OPENAI] == [{"system": "Answer as the pharmacy.", "last_user": CHAT["messages"][1]["content"],
                            "messages": 1, "json_asked": False}]
    assert log[ANTHROPIC][0]["system"] == "Be brief." and log[ANTHROPIC][0]["last_user"] == "Refill status?"
    assert list((await http.get("/_sim/requests", params={"target": ANTHROPIC})).json()) == [ANTHROPIC]
    await http.post("/_sim/stats/reset")
    assert (await http.get("/_sim/requests")).json() == {}
