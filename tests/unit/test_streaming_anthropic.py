"""Anthropic streaming parser on hand-written event sequences (providers.md §2.2, §4.2): text,
``input_json_delta`` tool calls numbered apart from block indexes, thinking, pings, cumulative usage,
JSON mode, truncation, and ``event: error`` classified like the HTTP error (also as the first event)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from activities.providers import anthropic
from activities.providers.base import ProviderError
from activities.providers.stream_base import StreamDelta, ToolCallDelta, parse_chunks
from activities.providers.streaming import stream_parser
from core.errors import ErrorClass
from tests.unit.conftest import build_call

EVENT = TypeAdapter(RawMessageStreamEvent)
HI = {"messages": [{"role": "user", "content": "hi"}]}
START = {"type": "message_start", "message": {
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4", "content": [],
    "stop_reason": None, "stop_sequence": None,
    "usage": {"input_tokens": 25, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}}}


def ev(data: dict[str, Any], *, check: bool = True) -> str:
    if check and data["type"] not in ("error", "ping"):
        EVENT.validate_python(data)                       # every hand-written event is a real SDK event
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


def block_start(index: int, block: dict[str, Any]) -> str:
    return ev({"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, d: dict[str, Any]) -> str:
    return ev({"type": "content_block_delta", "index": index, "delta": d})


def stop(index: int) -> str:
    return ev({"type": "content_block_stop", "index": index})


def end(reason: str, output_tokens: int = 30) -> str:
    return (ev({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens}}) + ev({"type": "message_stop"}))


PING = ev({"type": "ping"})


def run(body: str, request: dict[str, Any] | None = None, size: int = 0):
    raw = body.encode()
    parser = stream_parser("anthropic", build_call("anthropic", request or HI))
    chunks = [raw[i:i + size] for i in range(0, len(raw), size)] if size else [raw]
    return parser, *parse_chunks(parser, chunks)


TOOLS_STREAM = (ev(START) + block_start(0, {"type": "thinking", "thinking": "", "signature": ""})
                + delta(0, {"type": "thinking_delta", "thinking": "Let me check."})
                + delta(0, {"type": "signature_delta", "signature": "sig=="}) + stop(0)
                + block_start(1, {"type": "text", "text": ""}) + PING
                + delta(1, {"type": "text_delta", "text": "Checking "})
                + delta(1, {"type": "text_delta", "text": "both."}) + stop(1)
                + block_start(2, {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}})
                + delta(2, {"type": "input_json_delta", "partial_json": ""})
                + delta(2, {"type": "input_json_delta", "partial_json": '{"city": "Pa'})
                + delta(2, {"type": "input_json_delta", "partial_json": 'ris"}'}) + stop(2)
                + block_start(3, {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {}}) + stop(3)
                + end("tool_use", 41))


@pytest.mark.parametrize("size", [0, 1, 17])
def test_text_thinking_and_tool_calls(size: int) -> None:
    _, deltas, response = run(TOOLS_STREAM, size=size)
    assert deltas == [
        StreamDelta(content="Checking "), StreamDelta(content="both."),
        StreamDelta(tool_calls=(ToolCallDelta(0, "toolu_a", "get_weather", ""),)),
        StreamDelta(tool_calls=(ToolCallDelta(0, arguments=""),)),
        StreamDelta(tool_calls=(ToolCallDelta(0, arguments='{"city": "Pa'),)),
        StreamDelta(tool_calls=(ToolCallDelta(0, arguments='ris"}'),)),
        StreamDelta(tool_calls=(ToolCallDelta(1, "toolu_b", "get_time", ""),)),
        StreamDelta(finish_reason="tool_calls")]
    msg = response.choices[0].message
    assert msg.content == "Checking both." and response.choices[0].finish_reason == "tool_calls"
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls] == [
        ("toolu_a", "get_weather", {"city": "Paris"}), ("toolu_b", "get_time", {})]
    u = response.usage                                     # input + cache write + cache read; cumulative output
    assert (u.prompt_tokens, u.completion_tokens, u.prompt_tokens_details.cached_tokens) == (40, 41, 5)


def test_stream_maps_exactly_like_the_same_message_unstreamed() -> None:
    parser, _, streamed = run(TOOLS_STREAM)
    whole = anthropic.parse_response(parser.raw_body(), build_call("anthropic", HI))
    for response in (streamed, whole):           # streamed arguments are the provider's own text, not re-serialised
        for call in response.choices[0].message.tool_calls or []:
            call.function.arguments = json.dumps(json.loads(call.function.arguments))
    assert streamed.model_dump(exclude={"id", "created"}) == whole.model_dump(exclude={"id", "created"})


def test_json_mode_tool_streams_as_content() -> None:
    request = {**HI, "response_format": {"type": "json_object"}}
    body = (ev(START) + block_start(0, {"type": "tool_use", "id": "toolu_j", "name": "json_tool_call", "input": {}})
            + delta(0, {"type": "input_json_delta", "partial_json": '{"a": '})
            + delta(0, {"type": "input_json_delta", "partial_json": "1}"}) + stop(0) + end("tool_use"))
    _, deltas, response = run(body, request)
    assert deltas == [StreamDelta(content='{"a": '), StreamDelta(content="1}"), StreamDelta(finish_reason="stop")]
    assert json.loads(response.text()) == {"a": 1} and response.choices[0].finish_reason == "stop"
    wrapped = {**HI, "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {
        "type": "array", "items": {"type": "integer"}}}}}
    body = (ev(START) + block_start(0, {"type": "tool_use", "id": "toolu_j", "name": "json_tool_call", "input": {}})
            + delta(0, {"type": "input_json_delta", "partial_json": '{"value": [1, 2]}'}) + stop(0) + end("tool_use"))
    _, deltas, response = run(body, wrapped)
    assert deltas[0] == StreamDelta(content="[1,2]") and json.loads(response.text()) == [1, 2]


PROMPT_TOO_LONG = {"type": "error", "error": {"type": "invalid_request_error",
                                              "message": "prompt is too long: 208310 tokens > 200000 maximum"}}
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_context_length_error_as_the_first_event_of_a_200_stream() -> None:
    parser = stream_parser("anthropic", build_call("anthropic", HI))
    with pytest.raises(ProviderError) as e:
        parser.feed(ev(PROMPT_TOO_LONG).encode())
    assert e.value.error_class is ErrorClass.CONTEXT_LENGTH and not parser.content_started


def test_overloaded_mid_stream_after_content() -> None:
    parser = stream_parser("anthropic", build_call("anthropic", HI), {"retry-after": "3"}, now=0.0)
    body = ev(START) + block_start(0, {"type": "text", "text": ""}) + delta(0, {"type": "text_delta", "text": "Hal"})
    assert parser.feed((body + ev(OVERLOADED)).encode()) == [StreamDelta(content="Hal")]
    assert parser.content_started
    with pytest.raises(ProviderError) as e:
        parser.close()
    assert (e.value.error_class, e.value.retry_after_s) == (ErrorClass.OVERLOADED, 3.0)


@pytest.mark.parametrize(("body", "expected"), [
    (ev(START) + block_start(0, {"type": "text", "text": ""}) + delta(0, {"type": "text_delta", "text": "x"}),
     ErrorClass.STREAM_CUT),
    (ev(START) + block_start(0, {"type": "text", "text": ""}) + PING + PING, ErrorClass.STREAM_CUT),
    ("", ErrorClass.STREAM_CUT),
    (ev(START) + block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}})
     + delta(0, {"type": "input_json_delta", "partial_json": '{"a": '}) + stop(0) + end("tool_use"),
     ErrorClass.MALFORMED_RESPONSE),
    (ev(START) + ev({"type": "message_delta", "delta": {"stop_reason": "refusal", "stop_sequence": None},
                     "usage": {"output_tokens": 0}}, check=False) + ev({"type": "message_stop"}),
     ErrorClass.CONTENT_FILTER),
    ("event: message_start\ndata: {oops\n\n", ErrorClass.MALFORMED_RESPONSE),
])
def test_unusable_streams(body: str, expected: ErrorClass) -> None:
    with pytest.raises(ProviderError) as e:
        run(body)
    assert e.value.error_class is expected


def test_empty_answer_is_one_empty_choice_and_unknown_events_are_skipped() -> None:
    body = ev(START) + "event: brand_new_event\ndata: {\"type\": \"brand_new_event\"}\n\n" + end("max_tokens", 0)
    _, deltas, response = run(body)
    assert deltas == [StreamDelta(finish_reason="length")]
    assert [(c.message.content, c.finish_reason) for c in response.choices] == [("", "length")]
