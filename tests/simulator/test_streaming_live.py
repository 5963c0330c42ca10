"""The streaming parsers against the simulator's real streams (SSE, named events, Gemini's JSON array),
cross-checked against the official SDKs reading the very same bytes, and the in-stream failures:
a stream cut mid-answer, and an error event as the first thing of a 200 stream."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from activities.providers.base import ProviderError
from activities.providers.http import make_http_client
from activities.providers.registry import adapter_for
from activities.providers.stream_base import StreamDelta, parse_chunks
from activities.providers.streaming import stream_complete, stream_parser, stream_wire
from core.chat import ChatResponse
from core.errors import ErrorClass
from simulator.server import RunningSimulator
from tests.simulator.conftest import ANTHROPIC, GEMINI, OPENAI, Control
from tests.unit.conftest import build_call

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"]}}}
REQUESTS = {
    "text": {"messages": [{"role": "user", "content": "How does database replication handle partitions?"}]},
    "tool": {"messages": [{"role": "user", "content": "Weather in Lisbon?"}], "tools": [TOOL],
             "tool_choice": "required"},
    "json": {"messages": [{"role": "user", "content": "Give the answer as JSON"}],
             "response_format": {"type": "json_object"}},
}
WHERE = {"openai": (OPENAI, "/r/us-east/v1", "gpt-4o"), "anthropic": (ANTHROPIC, "/r/us-east", "claude-sonnet-4"),
         "gemini": (GEMINI, "/r/us-central", "gemini-2.0-flash")}


def call_for(sim: RunningSimulator, protocol: str, kind: str):
    _, path, model = WHERE[protocol]
    return build_call(protocol, REQUESTS[kind], base_url=sim.base_url + path, model=model)


def replay(deltas: list[StreamDelta]) -> tuple[str, dict[int, list[str]], list[str | None]]:
    """What a client rebuilding the answer from the deltas alone would see."""
    text = "".join(d.content or "" for d in deltas)
    calls: dict[int, list[str]] = {}
    for d in deltas:
        for t in d.tool_calls:
            calls.setdefault(t.index, [t.id or "", t.name or "", ""])
            calls[t.index][2] += t.arguments
    return text, calls, [d.finish_reason for d in deltas if d.finish_reason]


@pytest.mark.parametrize("kind", sorted(REQUESTS))
@pytest.mark.parametrize("protocol", sorted(WHERE))
async def test_streamed_answer_equals_its_deltas(sim: RunningSimulator, protocol: str, kind: str) -> None:
    deltas: list[StreamDelta] = []
    async with make_http_client() as client:
        res = await stream_complete(adapter_for(protocol), client, call_for(sim, protocol, kind), deltas.append)
    text, calls, finishes = replay(deltas)
    choice = res.response.choices[0]
    assert finishes == [choice.finish_reason] and res.ttft_ms is not None and not res.response.usage.estimated
    if kind == "tool":
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        assert [[t.id, t.function.name, t.function.arguments] for t in choice.message.tool_calls] == list(
            calls.values())
        assert set(json.loads(calls[0][2])) == {"city", "days"}
    else:
        assert choice.finish_reason == "stop" and choice.message.content == text and len(deltas) > 2
        assert kind != "json" or isinstance(json.loads(text), dict)


def recorder(http: Any = httpx) -> Any:
    """A transport (of the ``httpx``-like module ``http`` the SDK uses) that passes requests to the
    network and keeps every response body, for replay into a parser."""

    class Recorder(http.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = http.AsyncHTTPTransport()
            self.bodies: list[bytes] = []

        async def handle_async_request(self, request: Any) -> Any:
            resp = await self.inner.handle_async_request(request)
            raw = b"".join([c async for c in resp.aiter_raw()])
            await resp.aclose()
            self.bodies.append(raw)
            headers = [(k, v) for k, v in resp.headers.items()
                       if k.lower() not in ("content-length", "transfer-encoding")]
            return http.Response(resp.status_code, headers=headers, content=raw, request=request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    return Recorder()


def anthropic_http() -> Any:
    """The HTTP module the installed anthropic SDK is built on (``httpx``, or ``httpx2`` since 2.x)."""
    try:
        import httpx2
    except ImportError:
        return httpx
    return httpx2 if issubclass(anthropic.DefaultAsyncHttpxClient, httpx2.AsyncClient) else httpx


def parsed(protocol: str, request: dict[str, Any], body: bytes) -> ChatResponse:
    return parse_chunks(stream_parser(protocol, build_call(protocol, request)), [body])[1]


async def test_openai_parser_agrees_with_the_sdk(sim: RunningSimulator) -> None:
    rec = recorder()
    async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0,
                                  http_client=httpx.AsyncClient(transport=rec)) as client:
        for kind in ("text", "tool"):
            async with client.chat.completions.stream(model="gpt-4o", stream_options={"include_usage": True},
                                                      **REQUESTS[kind]) as stream:
                sdk = await stream.get_final_completion()
            ours = parsed("openai", REQUESTS[kind], rec.bodies[-1])
            mine, theirs = ours.choices[0], sdk.choices[0]
            assert mine.finish_reason == theirs.finish_reason
            assert (mine.message.content or "") == (theirs.message.content or "")   # SDK: "" beside tool calls
            assert [(t.id, t.function.name, t.function.arguments) for t in mine.message.tool_calls or []] == [
                (t.id, t.function.name, t.function.arguments) for t in theirs.message.tool_calls or []]
            assert (ours.usage.prompt_tokens, ours.usage.completion_tokens) == (
                sdk.usage.prompt_tokens, sdk.usage.completion_tokens)


async def test_anthropic_parser_agrees_with_the_sdk(sim: RunningSimulator) -> None:
    http = anthropic_http()
    rec = recorder(http)
    async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0,
                                        http_client=http.AsyncClient(transport=rec)) as client:
        for tools in ([], [{"name": "get_weather", "input_schema": TOOL["function"]["parameters"]}]):
            extra: dict[str, Any] = {"tools": tools, "tool_choice": {"type": "any"}} if tools else {}
            async with client.messages.stream(model="claude-sonnet-4", max_tokens=400,
                                              messages=[{"role": "user", "content": "Weather in Lisbon?"}],
                                              **extra) as stream:
                sdk = await stream.get_final_message()
            request = {**REQUESTS["tool" if tools else "text"]}
            ours = parsed("anthropic", request, rec.bodies[-1])
            msg = ours.choices[0].message
            assert (msg.content or "") == "".join(b.text for b in sdk.content if b.type == "text")
            assert [(t.id, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []] == [
                (b.id, b.name, b.input) for b in sdk.content if b.type == "tool_use"]
            assert ours.choices[0].finish_reason == {"end_turn": "stop", "tool_use": "tool_calls"}[sdk.stop_reason]
            assert (ours.usage.prompt_tokens, ours.usage.completion_tokens) == (
                sdk.usage.input_tokens, sdk.usage.output_tokens)


async def test_gemini_parser_agrees_with_the_sdk(sim: RunningSimulator) -> None:
    rec = recorder()
    client = genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=sim.base_url, async_client_args={"transport": rec}))
    chunks = [c async for c in await client.aio.models.generate_content_stream(
        model="gemini-2.0-flash", contents="How does database replication handle partitions?")]
    ours = parsed("gemini", REQUESTS["text"], rec.bodies[-1])
    assert ours.text() == "".join(c.text or "" for c in chunks)
    assert ours.usage.completion_tokens == chunks[-1].usage_metadata.candidates_token_count
    assert ours.choices[0].finish_reason == "stop" == chunks[-1].candidates[0].finish_reason.value.lower()


async def test_gemini_json_array_mode_without_alt_sse(sim: RunningSimulator) -> None:
    call = call_for(sim, "gemini", "text")
    wire = stream_wire(adapter_for("gemini"), call)
    async with httpx.AsyncClient() as http:
        resp = await http.post(wire.url.removesuffix("?alt=sse"), json=wire.body, headers=wire.headers)
    assert resp.content.startswith(b"[")
    deltas, response = parse_chunks(stream_parser("gemini", call), [resp.content[i:i + 7]
                                                                   for i in range(0, len(resp.content), 7)])
    assert response.text() == "".join(d.content or "" for d in deltas) and "replication" in response.text()


@pytest.mark.parametrize("protocol", sorted(WHERE))
async def test_stream_cut_mid_answer_is_stream_cut(sim: RunningSimulator, control: Control, protocol: str) -> None:
    target = WHERE[protocol][0]
    await control.apply(target, stream_cut_share=1.0, stream_cut_after_chunks=3)
    deltas: list[StreamDelta] = []
    async with make_http_client() as client:
        with pytest.raises(ProviderError) as e:
            await stream_complete(adapter_for(protocol), client, call_for(sim, protocol, "text"), deltas.append)
    assert e.value.error_class is ErrorClass.STREAM_CUT and any(d.content for d in deltas)
    assert (await control.stats(target))["stream_cuts"] == 1


FIRST_EVENT_ERRORS = {
    "openai": 'data: {"error": {"message": "This model\'s maximum context length is 32768 tokens. However, you '
              'requested 33077 tokens.", "type": "invalid_request_error", "code": "context_length_exceeded"}}\n\n',
    "anthropic": 'event: error\ndata: {"type": "error", "error": {"type": "invalid_request_error", '
                 '"message": "prompt is too long: 208310 tokens > 200000 maximum"}}\n\n',
    "gemini": 'data: {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "The input token count '
              '(1196265) exceeds the maximum number of tokens allowed (1048575)."}}\r\n\r\n',
}


@pytest.mark.parametrize("protocol", sorted(WHERE))
async def test_context_length_as_the_first_event_of_a_200_stream(sim: RunningSimulator, control: Control,
                                                                 protocol: str) -> None:
    target = WHERE[protocol][0]
    await control.apply(target, error_rate=1.0, errors=[{"status": 200, "body": FIRST_EVENT_ERRORS[protocol]}])
    async with make_http_client() as client:
        with pytest.raises(ProviderError) as e:
            await stream_complete(adapter_for(protocol), client, call_for(sim, protocol, "text"))
    assert e.value.error_class is ErrorClass.CONTEXT_LENGTH
    assert (await control.stats(target))["calls"] == 1
