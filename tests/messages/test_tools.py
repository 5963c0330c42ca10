"""Tool use through ``/v1/messages`` with the ``anthropic`` SDK: ``tool_use`` -> ``tool_result`` ->
answer, with the turns answered by different protocols' targets (a failover between them), and a
tool call streamed as Anthropic's ``input_json_delta`` events."""

from __future__ import annotations

from anthropic import AsyncAnthropic

from tests.gateway.conftest import GatewayUnderTest
from tests.messages.conftest import CLAUDE, GEMINI, MESSAGES, PRIMARY, SECOND, TOOLS, break_targets

FORCED = {"type": "tool", "name": "lookup_order"}


async def test_tool_round_trip_across_a_failover(base_url: str, gw_open: GatewayUnderTest) -> None:
    async with AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(
            model="claude-3-5-sonnet", max_tokens=200, messages=MESSAGES, tools=TOOLS, tool_choice=FORCED)
        call = await raw.parse()
        assert raw.headers["x-switchyard-target"] == PRIMARY
        use = call.content[-1]
        assert call.stop_reason == "tool_use" and use.type == "tool_use" and use.name == "lookup_order"
        assert isinstance(use.input, dict) and isinstance(use.input["order_id"], str)
        await break_targets(gw_open, PRIMARY, SECOND)  # the answer must come from the Anthropic target
        history = [*MESSAGES, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in call.content]},
                   {"role": "user", "content": [
                       {"type": "tool_result", "tool_use_id": use.id,
                        "content": [{"type": "text", "text": '{"status": "shipped", "eta": "Friday"}'}]},
                       {"type": "text", "text": "When will it arrive?"}]}]
        raw = await client.messages.with_raw_response.create(model="claude-3-5-sonnet", max_tokens=200,
                                                             messages=history, tools=TOOLS)
        answer = await raw.parse()
    assert raw.headers["x-switchyard-target"] == CLAUDE
    assert answer.stop_reason == "end_turn" and answer.content[0].type == "text" and answer.content[0].text
    # the tool result reached the target as a tool message right after the call (the workflow's input)
    sent = gw_open.started[-1].request.messages
    assert [m.role for m in sent] == ["user", "assistant", "tool", "user"]
    assert sent[1].tool_calls[0].id == use.id and sent[2].tool_call_id == use.id
    assert "shipped" in sent[2].text()


async def test_streamed_tool_use_from_a_gemini_target(base_url: str, gw_open: GatewayUnderTest) -> None:
    await break_targets(gw_open, PRIMARY, SECOND, CLAUDE)
    async with AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        async with client.messages.stream(model="claude-3-5-sonnet", max_tokens=200, messages=MESSAGES,
                                          tools=TOOLS, tool_choice=FORCED) as stream:
            events = [e async for e in stream]
            final = await stream.get_final_message()
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert any(d.type == "input_json_delta" for d in deltas)
    use = final.content[-1]
    assert final.model == "gemini-2.0-flash" and final.stop_reason == "tool_use"
    assert use.type == "tool_use" and use.name == "lookup_order" and isinstance(use.input["order_id"], str)
    assert gw_open.sim_calls(GEMINI) == 1


PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


async def test_an_image_block_reaches_an_anthropic_target_after_a_failover(base_url: str,
                                                                           gw_open: GatewayUnderTest) -> None:
    await break_targets(gw_open, PRIMARY, SECOND)
    content = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX}},
               {"type": "text", "text": "Is this the label of order NW-48213?"}]
    async with AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(model="claude-3-5-sonnet", max_tokens=100,
                                                             messages=[{"role": "user", "content": content}])
        msg = await raw.parse()
    assert raw.headers["x-switchyard-target"] == CLAUDE and msg.content[0].text
    parts = gw_open.started[-1].request.messages[0].content
    assert isinstance(parts, list) and parts[0]["image_url"]["url"] == f"data:image/png;base64,{PNG_1PX}"
