"""The official SDKs parse the simulator's answers: text, usage, finish reasons, JSON output, forced
tool calls, streaming, each over real HTTP on loopback."""

from __future__ import annotations

import json

import anthropic
import openai
import pydantic
import pytest
from google import genai
from google.genai import types

from simulator.server import RunningSimulator

OPENAI_EU = "openai/gpt-4o@eu-west"
QUESTION = "How does database replication handle network partitions?"
WEATHER_TOOL_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "days", "unit"],
    "additionalProperties": False,
}


class Invoice(pydantic.BaseModel):
    number: str
    total: float
    paid: bool
    lines: list[str]


def _openai(sim: RunningSimulator, region: str | None = None) -> openai.AsyncOpenAI:
    base = sim.base_url + (f"/r/{region}" if region else "")
    return openai.AsyncOpenAI(base_url=base + "/v1", api_key="x", max_retries=0)


def _anthropic(sim: RunningSimulator) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0)


def _gemini(sim: RunningSimulator) -> genai.Client:
    return genai.Client(api_key="x", http_options=types.HttpOptions(base_url=sim.base_url))


# ---- OpenAI ----

async def test_openai_chat_completion(sim: RunningSimulator) -> None:
    async with _openai(sim) as client:
        out = await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    choice = out.choices[0]
    assert choice.finish_reason == "stop"
    assert "replication" in choice.message.content
    assert out.usage.prompt_tokens == -(-len(QUESTION) // 4) + 4
    assert out.usage.completion_tokens > 0
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens


async def test_openai_stream_with_usage(sim: RunningSimulator) -> None:
    async with _openai(sim) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], stream=True,
            stream_options={"include_usage": True})
        chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert "replication" in text and finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


async def test_openai_n_choices_plain_and_streamed(sim: RunningSimulator) -> None:
    msgs = [{"role": "user", "content": QUESTION}]
    async with _openai(sim) as client:
        one = await client.chat.completions.create(model="gpt-4o", messages=msgs)
        three = await client.chat.completions.create(model="gpt-4o", messages=msgs, n=3)
        stream = await client.chat.completions.create(model="gpt-4o", messages=msgs, n=2, stream=True,
                                                      stream_options={"include_usage": True})
        chunks = [c async for c in stream]
        with pytest.raises(openai.BadRequestError, match="Invalid 'n'"):
            await client.chat.completions.create(model="gpt-4o", messages=msgs, n=0)
    assert [c.index for c in three.choices] == [0, 1, 2]
    assert len({c.message.content for c in three.choices}) == 1  # the simulator's choices are one answer
    assert three.usage.completion_tokens % 3 == 0 and three.usage.completion_tokens > 0  # every choice counts
    assert one.choices[0].message.content
    texts = {i: "".join(c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].index == i)
             for i in (0, 1)}
    assert texts[0] and texts[0] == texts[1]


async def test_openai_json_schema_parses(sim: RunningSimulator) -> None:
    async with _openai(sim) as client:
        out = await client.chat.completions.parse(
            model="gpt-4o", messages=[{"role": "user", "content": "Extract the invoice"}], response_format=Invoice)
    invoice = out.choices[0].message.parsed
    assert isinstance(invoice, Invoice) and invoice.lines


async def test_openai_json_object_mode(sim: RunningSimulator) -> None:
    async with _openai(sim) as client:
        out = await client.chat.completions.create(
            model="gpt-4o", response_format={"type": "json_object"},
            messages=[{"role": "user", "content": "List the planets as JSON"}])
    assert isinstance(json.loads(out.choices[0].message.content), dict)


async def test_openai_forced_tool_call(sim: RunningSimulator) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_TOOL_SCHEMA}}]
    async with _openai(sim) as client:
        out = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Weather in Lisbon?"}], tools=tools,
            tool_choice={"type": "function", "function": {"name": "get_weather"}})
        streamed = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Weather in Lisbon?"}], tools=tools,
            tool_choice="required", stream=True)
        pieces = [c async for c in streamed]
    call = out.choices[0].message.tool_calls[0]
    assert out.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    args = json.loads(call.function.arguments)
    assert args["unit"] == "celsius" and 1 <= args["days"] <= 7 and isinstance(args["city"], str)
    arguments = "".join(tc.function.arguments or "" for c in pieces if c.choices
                        for tc in c.choices[0].delta.tool_calls or [])
    assert set(json.loads(arguments)) == {"city", "days", "unit"}


async def test_openai_region_prefix_and_models(sim: RunningSimulator) -> None:
    async with _openai(sim, "eu-west") as client:
        out = await client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
        models = await client.models.list()
    assert out.headers["x-switchyard-sim-target"] == OPENAI_EU
    assert [m.id for m in models.data] == ["gpt-4o"]


async def test_openai_unknown_model_is_404(sim: RunningSimulator) -> None:
    async with _openai(sim) as client:
        try:
            await client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
        except openai.NotFoundError as exc:
            assert exc.code == "model_not_found"
        else:
            raise AssertionError("expected a 404")


# ---- Anthropic ----

async def test_anthropic_message(sim: RunningSimulator) -> None:
    async with _anthropic(sim) as client:
        msg = await client.messages.create(model="claude-sonnet-4", max_tokens=500, system="Be brief.",
                                           messages=[{"role": "user", "content": QUESTION}])
    assert msg.stop_reason == "end_turn" and "replication" in msg.content[0].text
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0


async def test_anthropic_stream(sim: RunningSimulator) -> None:
    async with _anthropic(sim) as client:
        async with client.messages.stream(model="claude-sonnet-4", max_tokens=500,
                                          messages=[{"role": "user", "content": QUESTION}]) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
    assert "replication" in text and final.content[0].text == text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 1


async def test_anthropic_max_tokens_caps_the_answer(sim: RunningSimulator) -> None:
    async with _anthropic(sim) as client:
        msg = await client.messages.create(model="claude-sonnet-4", max_tokens=3,
                                           messages=[{"role": "user", "content": QUESTION}])
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 3


async def test_anthropic_structured_output_and_forced_tool(sim: RunningSimulator) -> None:
    schema = Invoice.model_json_schema()
    async with _anthropic(sim) as client:
        msg = await client.messages.create(
            model="claude-sonnet-4", max_tokens=500, messages=[{"role": "user", "content": "Extract the invoice"}],
            output_config={"format": {"type": "json_schema", "schema": schema}})
        tool_msg = await client.messages.create(
            model="claude-sonnet-4", max_tokens=500, messages=[{"role": "user", "content": "Weather in Lisbon?"}],
            tools=[{"name": "get_weather", "input_schema": WEATHER_TOOL_SCHEMA}],
            tool_choice={"type": "tool", "name": "get_weather"})
        async with client.messages.stream(
                model="claude-sonnet-4", max_tokens=500, messages=[{"role": "user", "content": "Weather?"}],
                tools=[{"name": "get_weather", "input_schema": WEATHER_TOOL_SCHEMA}],
                tool_choice={"type": "any"}) as stream:
            streamed = await stream.get_final_message()
    Invoice.model_validate_json(msg.content[0].text)
    block = tool_msg.content[0]
    assert tool_msg.stop_reason == "tool_use" and block.type == "tool_use" and block.name == "get_weather"
    assert set(block.input) == {"city", "days", "unit"}
    assert streamed.content[0].type == "tool_use" and set(streamed.content[0].input) == {"city", "days", "unit"}


# ---- Gemini ----

async def test_gemini_generate_content(sim: RunningSimulator) -> None:
    client = _gemini(sim)
    out = await client.aio.models.generate_content(model="gemini-2.0-flash", contents=QUESTION)
    assert "replication" in out.text
    assert out.candidates[0].finish_reason == types.FinishReason.STOP
    usage = out.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert out.model_version == "gemini-2.0-flash"


async def test_gemini_stream(sim: RunningSimulator) -> None:
    client = _gemini(sim)
    chunks = [c async for c in await client.aio.models.generate_content_stream(
        model="gemini-2.0-flash", contents=QUESTION)]
    assert len(chunks) > 1 and "replication" in "".join(c.text or "" for c in chunks)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count > 0


async def test_gemini_json_schema_and_forced_tool(sim: RunningSimulator) -> None:
    client = _gemini(sim)
    out = await client.aio.models.generate_content(
        model="gemini-2.0-flash", contents="Extract the invoice",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=Invoice))
    assert isinstance(out.parsed, Invoice)
    weather = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER_TOOL_SCHEMA)
    call_out = await client.aio.models.generate_content(
        model="gemini-2.0-flash", contents="Weather in Lisbon?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[weather])],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)))
    call = call_out.function_calls[0]
    assert call.name == "get_weather" and set(call.args) == {"city", "days", "unit"}


async def test_gemini_unknown_model_is_404(sim: RunningSimulator) -> None:
    client = _gemini(sim)
    try:
        await client.aio.models.generate_content(model="gemini-9", contents="hi")
    except genai.errors.ClientError as exc:
        assert exc.code == 404 and exc.status == "NOT_FOUND"
    else:
        raise AssertionError("expected a 404")
