"""``POST /v1/responses`` with the official ``openai`` SDK (sync, async, streaming) against the
gateway through an outage of the primary; a function-tool round trip answered by an Anthropic
target, both through ``previous_response_id`` and with the items sent inline; stored responses
are tenant-scoped; ``text.format`` JSON schema; unsupported features are 400s naming the field."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from tests.gateway.conftest import PRIMARY, SECOND
from worker.gateway.server import serve_app

CLAUDE = "anthropic/claude-3-5-sonnet@us-east"
TOOLS = [{"type": "function", "name": "order_status", "description": "Look up a refill order.",
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                         "required": ["order_id"]}}]


async def _down(gw, *targets: str) -> None:
    for t in targets:
        await gw.fault(t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])


async def test_sync_and_async_sdk_through_an_outage_of_the_primary(gw) -> None:
    await _down(gw, PRIMARY)
    async with serve_app(gw.app) as url:
        sync = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        raw = await asyncio.to_thread(sync.responses.with_raw_response.create, model="gpt-4o",
                                      instructions="You are a support agent.", input="Where is order NW-48213?")
        a = await openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused").responses.create(
            model="gpt-4o", input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello"}]}],
            max_output_tokens=50)
    res = raw.parse()
    assert raw.headers["x-switchyard-target"] == SECOND and raw.headers["x-switchyard-failovers"] == "1"
    assert res.id.startswith("resp_") and res.status == "completed" and res.output_text
    assert res.output[0].type == "message" and res.output[0].content[0].type == "output_text"
    assert res.usage.input_tokens > 0 and res.usage.total_tokens == res.usage.input_tokens + res.usage.output_tokens
    assert res.instructions == "You are a support agent." and res.store is True
    assert a.output_text and a.max_output_tokens == 50


async def test_streaming_events_in_order_with_the_completed_response(gw) -> None:
    await _down(gw, PRIMARY)
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused")
        events = [e async for e in await client.responses.create(model="gpt-4o", input="Tell me about refills.",
                                                                 stream=True)]
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    done = events[-1].response
    assert text and done.output_text == text and done.status == "completed" and done.usage.output_tokens > 0


async def test_tool_round_trip_answered_by_anthropic_via_previous_response_id_and_inline(gw) -> None:
    await _down(gw, PRIMARY, SECOND)  # both gpt-4o regions: Claude answers the Responses request
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        first = await client.responses.with_raw_response.create(
            model="gpt-4o", input="What is the status of order NW-48213?", tools=TOOLS,
            tool_choice={"type": "function", "name": "order_status"})
        call_resp = first.parse()
        assert first.headers["x-switchyard-target"] == CLAUDE
        call = next(o for o in call_resp.output if o.type == "function_call")
        assert call.name == "order_status" and "order_id" in json.loads(call.arguments)
        output = {"type": "function_call_output", "call_id": call.call_id, "output": '{"status": "shipped"}'}
        chained = await client.responses.with_raw_response.create(model="gpt-4o", tools=TOOLS, input=[output],
                                                                  previous_response_id=call_resp.id)
        inline = await client.responses.create(model="gpt-4o", tools=TOOLS, input=[
            {"role": "user", "content": "What is the status of order NW-48213?"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            output])
        # another tenant cannot continue this chain
        with pytest.raises(openai.NotFoundError) as e:
            await client.responses.create(model="gpt-4o", input=[output], previous_response_id=call_resp.id,
                                          extra_headers={"x-switchyard-tenant": "other"})
    final = chained.parse()
    assert chained.headers["x-switchyard-target"] == CLAUDE and final.output_text
    assert final.previous_response_id == call_resp.id and inline.output_text
    assert e.value.body["param"] == "previous_response_id"


async def test_json_schema_text_format(gw) -> None:
    schema = {"type": "object", "properties": {"order_id": {"type": "string"}, "late": {"type": "boolean"}},
              "required": ["order_id", "late"], "additionalProperties": False}
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused")
        res = await client.responses.create(model="gpt-4o", input="Is order NW-1 late?", text={
            "format": {"type": "json_schema", "name": "lateness", "schema": schema, "strict": True}})
    data = json.loads(res.output_text)
    assert set(data) == {"order_id", "late"} and isinstance(data["late"], bool)
    assert res.text.format.type == "json_schema"


@pytest.mark.parametrize(("extra", "param"), [
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"background": True}, "background"),
    ({"truncation": "auto"}, "truncation"),
    ({"input": [{"type": "input_file", "file_id": "f"}]}, "input[0].type"),
    ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
])
async def test_unsupported_features_are_400s_naming_the_field(gw, extra, param) -> None:
    body = {"model": "gpt-4o", "input": "hi", **extra}
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.BadRequestError) as e:
            await client.post("/responses", body=body, cast_to=object)
    assert e.value.body["param"] == param and gw.started == []
    r = await gw.http.post("/v1/responses", content=b"{nope")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
