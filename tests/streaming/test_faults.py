"""Streamed faults before and after the first token, per protocol, through the gateway with the
official ``openai`` SDK (async and sync).

Before the first token a fault is invisible (the client sees one clean stream from the next
target); after it the next target continues the answer in the same stream (rescue), and the glued
text equals what one healthy target answers for the same request (the simulator's prose is a
function of the prompt; every target answers the same fixed length). The primary of the route is
``openai/gpt-4o@us-east``; each test moves it to another protocol's backup by breaking the targets
in between, so the rescue is tested with an OpenAI-protocol, an Anthropic and a Gemini continuation.
"""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.integration.test_request_path import rows
from tests.streaming.conftest import CLAUDE, GEMINI, MESSAGES, PRIMARY, SECOND, fault

FAULTS = ["cut", "stall", "error_event", "malformed", "no_final"]


async def stream_text(url: str, **kw) -> tuple[str, list]:  # type: ignore[no-untyped-def]
    client = AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    try:
        messages = kw.pop("messages_", MESSAGES)
        stream = await client.chat.completions.create(model="gpt-4o", messages=messages, stream=True,
                                                      stream_options={"include_usage": True}, **kw)
        chunks = [c async for c in stream]
        chunks_wf.append(stream.response.headers.get("x-switchyard-workflow-id"))
    finally:
        await client.close()
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


chunks_wf: list[str | None] = []  # workflow id of each stream read by stream_text, in order


async def healthy_text(sgw, url: str) -> str:
    text, _ = await stream_text(url)
    return text


async def route_to(sgw, backup: str) -> None:
    """Break every target between the primary and ``backup`` before its first token (500s)."""
    order = [SECOND, CLAUDE, GEMINI]
    for t in order[:order.index(backup)]:
        await fault(sgw.sim, t, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])


@pytest.mark.parametrize("kind", FAULTS)
async def test_fault_before_first_token_is_invisible(sgw, sgw_url, kind: str) -> None:
    expected = await healthy_text(sgw, sgw_url)
    await fault(sgw.sim, PRIMARY, stream_fault=kind, stream_fault_after_tokens=0)
    text, chunks = await stream_text(sgw_url)
    assert text == expected
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("backup", [SECOND, CLAUDE, GEMINI])
@pytest.mark.parametrize("kind", ["cut", "stall", "error_event"])
async def test_fault_after_first_token_is_rescued_seamlessly(sgw, sgw_url, engine, kind: str, backup: str) -> None:
    expected = await healthy_text(sgw, sgw_url)
    await route_to(sgw, backup)
    await fault(sgw.sim, PRIMARY, stream_fault=kind, stream_fault_after_tokens=12)
    text, chunks = await stream_text(sgw_url)
    assert text == expected, (text, expected)
    assert len({c.id for c in chunks}) == 1
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens >= len(expected) // 4
    # outcome rows show the rescue: the broken part billed with its tokens, the backup's part ok
    parts = [r for r in await rows(engine, chunks_wf[-1]) if r.target in (PRIMARY, backup)]
    assert [r.target for r in parts] == [PRIMARY, backup] and parts[1].status_class == "ok"
    assert parts[0].status_class in ("StreamCut", "Timeout", "Overloaded", "ServerError")
    assert parts[0].completion_tokens > 0 and parts[0].cost_usd > 0


async def test_rescue_off_ends_with_an_error_the_sdk_raises(temporal_env, db_url, stream_sim) -> None:
    from tests.configs import sim_config_dict
    from tests.gateway.conftest import gateway_under_test
    from worker.gateway.server import serve_app
    routes = sim_config_dict(stream_sim.base_url)["routes"]
    routes["support_reply"]["rescue"] = "off"
    async with gateway_under_test(temporal_env.client, stream_sim, db_url,
                                  config={"routes": routes, "streams": {"channel": "off"}}) as gut:
        await fault(stream_sim, PRIMARY, stream_fault="cut", stream_fault_after_tokens=10)
        async with serve_app(gut.app, port=0) as url:
            with pytest.raises(openai.APIError) as caught:
                await stream_text(url)
    assert "rescue is off" in str(caught.value)


async def test_no_target_left_gives_an_sdk_error_not_done(sgw, sgw_url) -> None:
    for t in (SECOND, CLAUDE, GEMINI, "openai/local-llama-3.1-8b@local"):
        await fault(sgw.sim, t, stream_fault="cut", stream_fault_after_tokens=0)
    await fault(sgw.sim, PRIMARY, stream_fault="cut", stream_fault_after_tokens=8)
    client = OpenAI(base_url=sgw_url + "/v1", api_key="unused", max_retries=0)

    def consume() -> str:
        got = []
        stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        for c in stream:
            if c.choices:
                got.append(c.choices[0].delta.content or "")
        return "".join(got)
    try:
        with pytest.raises(openai.APIError):
            await asyncio.to_thread(consume)
    finally:
        client.close()


JSON_MESSAGES = [MESSAGES[0], {"role": "user", "content": MESSAGES[1]["content"] + " Answer in JSON."}]


async def test_json_mode_rescue_is_valid_json(sgw, sgw_url) -> None:
    fmt = {"type": "json_object"}
    expected, _ = await stream_text(sgw_url, response_format=fmt, messages_=JSON_MESSAGES)
    await fault(sgw.sim, PRIMARY, stream_fault="cut", stream_fault_after_tokens=6)
    text, _ = await stream_text(sgw_url, response_format=fmt, messages_=JSON_MESSAGES)
    assert json.loads(text) == json.loads(expected)


async def test_json_mode_answer_that_cannot_be_made_valid_fails_clearly(sgw, sgw_url) -> None:
    """The backup that continues the cut JSON answer breaks it (simulator corruption
    ``invalid_json``): the glued text is not JSON, and the stream ends with an error the SDK
    raises instead of delivering it as complete."""
    await fault(sgw.sim, SECOND, corrupt_share=1.0, corrupt_kind=["invalid_json"])
    await fault(sgw.sim, PRIMARY, stream_fault="cut", stream_fault_after_tokens=6)
    with pytest.raises(openai.APIError, match="not valid JSON"):
        await stream_text(sgw_url, response_format={"type": "json_object"}, messages_=JSON_MESSAGES)


TOOLS = [{"type": "function", "function": {"name": "lookup_order", "description": "Find an order by its id.",
                                           "parameters": {"type": "object", "properties": {
                                               "order_id": {"type": "string"}}, "required": ["order_id"]}}}]


@pytest.mark.parametrize("backup", [SECOND, CLAUDE])
async def test_tool_call_cut_mid_arguments_never_reaches_the_client_broken(sgw, sgw_url, backup: str) -> None:
    """The primary's tool call stops inside its arguments: nothing of it was sent (calls are held
    until complete), so the backup's whole call is the only one the client sees, with valid JSON."""
    await route_to(sgw, backup)
    await fault(sgw.sim, PRIMARY, stream_fault="tool_cut")
    choice = {"type": "function", "function": {"name": "lookup_order"}}
    _, chunks = await stream_text(sgw_url, tools=TOOLS, tool_choice=choice)
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert len(calls) == 1 and calls[0].function.name == "lookup_order"
    assert "order_id" in json.loads(calls[0].function.arguments)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["tool_calls"]
