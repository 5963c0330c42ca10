"""Extended thinking through ``/v1/messages`` with the ``anthropic`` SDK: passed to a target with the
``thinking`` capability and its blocks (signature included) returned; dropped, with a note, on a
failover to an OpenAI target; history blocks go back to a thinking target unchanged and never to
another protocol (``core/thinking.py``)."""

from __future__ import annotations

import inspect

import anthropic

from activities.providers.anthropic_translate import build_body
from activities.providers.base import ProviderCall
from activities.providers.openai import build_request
from core.chat import ChatMessage, ChatRequest, FunctionCall, ToolCall
from tests.apis.conftest import SONNET_4, api_config
from tests.configs import sim_config
from tests.gateway.conftest import PRIMARY
from worker.gateway.server import serve_app


async def _parsed(raw):  # type: ignore[no-untyped-def]
    out = raw.parse()
    return await out if inspect.isawaitable(out) else out


THINKING = {"type": "enabled", "budget_tokens": 1024}
BLOCK = {"type": "thinking", "thinking": "Check the order first.", "signature": "c2lnbmF0dXJl"}


async def test_thinking_target_returns_its_blocks_and_a_failover_drops_them(gw) -> None:
    async with serve_app(gw.app) as url:
        client = anthropic.AsyncAnthropic(base_url=url, api_key="unused", max_retries=0)
        raw = await client.messages.with_raw_response.create(
            model="analysis", max_tokens=2048, thinking=THINKING,
            messages=[{"role": "user", "content": "Is order NW-48213 late?"}])
        msg = await _parsed(raw)
        assert raw.headers["x-switchyard-target"] == SONNET_4
        assert [b.type for b in msg.content] == ["thinking", "text"]
        assert msg.content[0].signature and "NW-48213" in msg.content[0].thinking
        await gw.fault(SONNET_4, error_rate=1.0, errors=[{"status": 529, "share": 1.0}])
        raw = await client.messages.with_raw_response.create(
            model="analysis", max_tokens=2048, thinking=THINKING,
            messages=[{"role": "user", "content": "Is order NW-48213 late?"}])
    fallback = await _parsed(raw)
    assert raw.headers["x-switchyard-target"] == PRIMARY and [b.type for b in fallback.content] == ["text"]


def _call(target: str, req: ChatRequest) -> ProviderCall:
    cfg = sim_config("http://127.0.0.1:9", **api_config("http://127.0.0.1:9"))
    t = cfg.target(target)
    return ProviderCall(t, cfg.providers[t.provider], None, req, 10)


def test_history_blocks_go_back_to_a_thinking_target_and_never_elsewhere() -> None:
    call = ToolCall(id="toolu_1", function=FunctionCall(name="order_status", arguments='{"id": "NW-1"}'))
    req = ChatRequest(messages=[ChatMessage(role="user", content="Is NW-1 late?"),
                                ChatMessage(role="assistant", content=None, tool_calls=[call], thinking_blocks=[BLOCK]),
                                ChatMessage(role="tool", tool_call_id="toolu_1", content='{"late": false}')],
                      max_tokens=2048, thinking=THINKING, temperature=0.3)
    body, notes = build_body(_call(SONNET_4, req))
    assert body["thinking"] == THINKING and "temperature" not in body
    assert body["messages"][1]["content"][0] == BLOCK and body["messages"][1]["content"][1]["type"] == "tool_use"
    body, notes = build_body(_call("anthropic/claude-3-5-sonnet@us-east", req))  # no thinking capability
    assert "thinking" not in body and all(b.get("type") != "thinking" for b in body["messages"][1]["content"])
    assert any("thinking dropped" in n for n in notes)
    wire = build_request(_call(PRIMARY, req))
    assert "thinking" not in wire.body and all("thinking_blocks" not in m for m in wire.body["messages"])
    assert any("thinking dropped" in n for n in wire.notes)
