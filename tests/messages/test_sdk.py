"""The official ``anthropic`` SDK, unchanged, against ``POST /v1/messages`` over loopback.

Sync and async clients, streaming and not, through an outage of the primary injected in the
simulator (every call still answers; SDK retries are off, so every success is the gateway's own
failover). The route behind ``claude-3-5-sonnet`` starts with OpenAI targets: these Messages
requests are answered by OpenAI-protocol targets, and by the Anthropic target when both OpenAI
regions are down. The sync client blocks, so it runs in a thread.
"""

from __future__ import annotations

import asyncio

import anthropic
from anthropic import Anthropic, AsyncAnthropic

from activities.storage.outcomes import OutcomeStore
from tests.gateway.conftest import GatewayUnderTest
from tests.messages.conftest import CLAUDE, MESSAGES, PRIMARY, SECOND, SYSTEM, break_targets


def sync_calls(base_url: str) -> tuple[anthropic.types.Message, str, anthropic.types.Message]:
    client = Anthropic(base_url=base_url, api_key="sk-ant-unused-with-auth-off", max_retries=0)
    try:
        done = client.messages.create(model="claude-3-5-sonnet", max_tokens=200, system=SYSTEM, messages=MESSAGES)
        with client.messages.stream(model="claude-3-5-sonnet", max_tokens=200, messages=MESSAGES) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    finally:
        client.close()
    return done, text, final


async def test_sync_client_through_an_outage_of_the_primary(base_url: str, gw_open: GatewayUnderTest) -> None:
    await break_targets(gw_open, PRIMARY)
    done, text, final = await asyncio.to_thread(sync_calls, base_url)
    assert done.type == "message" and done.role == "assistant" and done.id.startswith("msg_")
    assert done.model == "gpt-4o" and done.stop_reason == "end_turn"
    assert done.content[0].type == "text" and done.content[0].text
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    assert text and final.content[0].text == text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0
    assert gw_open.sim_calls(PRIMARY) >= 2 and gw_open.sim_calls(SECOND) == 2


async def test_async_client_answered_by_openai_then_by_the_anthropic_target(base_url: str,
                                                                     gw_open: GatewayUnderTest) -> None:
    async with AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(model="claude-3-5-sonnet", max_tokens=100,
                                                             messages=MESSAGES)
        first = await raw.parse()
        assert raw.headers["x-switchyard-target"] == PRIMARY and first._request_id == raw.headers["request-id"]
        await break_targets(gw_open, PRIMARY, SECOND)
        raw = await client.messages.with_raw_response.create(model="claude-3-5-sonnet", max_tokens=100,
                                                             messages=MESSAGES)
        msg = await raw.parse()
        assert raw.headers["x-switchyard-target"] == CLAUDE and msg.model == "claude-3-5-sonnet"
        async with client.messages.stream(model="claude-3-5-sonnet", max_tokens=100, messages=MESSAGES) as stream:
            events = [e.type async for e in stream]
            final = await stream.get_final_message()
    assert msg.content[0].text and final.content[0].text and final.model == "claude-3-5-sonnet"
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert {"content_block_start", "text", "content_block_stop", "message_delta"} <= set(events)


async def test_max_tokens_is_reported_as_anthropic_stop_reason(base_url: str) -> None:
    async with AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        msg = await client.messages.create(model="claude-3-5-sonnet", max_tokens=3, messages=MESSAGES)
        async with client.messages.stream(model="claude-3-5-sonnet", max_tokens=3, messages=MESSAGES) as stream:
            final = await stream.get_final_message()
    assert msg.stop_reason == "max_tokens" and final.stop_reason == "max_tokens"
    assert msg.usage.output_tokens <= 3


async def test_an_idempotency_key_attaches_to_the_first_answer(base_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    async with AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        first, again = [await client.messages.create(model="support_reply", max_tokens=100, messages=MESSAGES,
                                                     extra_headers={"Idempotency-Key": "refill-48213"})
                        for _ in range(2)]
    assert first.id == again.id and first.content == again.content
    assert first._request_id == again._request_id == "req-default-refill-48213"
    assert len(await OutcomeStore(engine).for_workflow(first._request_id)) == 1  # the provider was called once
