"""Gemini streaming parser on hand-written chunk sequences (providers.md §1.3, §2.3): SSE and JSON-array
modes, text merged per candidate, whole ``functionCall`` parts with their ids and signatures, thought
parts kept out of the content, the last usage, truncation, and ``{"error": ...}`` chunks classified
like the HTTP error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.genai import types

from activities.providers import gemini
from activities.providers.base import ProviderError
from activities.providers.stream_base import StreamDelta, ToolCallDelta, parse_chunks
from activities.providers.streaming import stream_parser
from core.errors import ErrorClass
from tests.unit.conftest import build_call

HI = {"messages": [{"role": "user", "content": "hi"}]}


def resp(parts: list[dict[str, Any]] | None, finish: str | None = None, usage: int | None = None,
         index: int = 0, **extra: Any) -> dict[str, Any]:
    cand: dict[str, Any] = {"index": index}
    if parts is not None:
        cand["content"] = {"role": "model", "parts": parts}
    if finish:
        cand["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [cand], "modelVersion": "gemini-2.5-flash", "responseId": "r1", **extra}
    if usage is not None:
        body["usageMetadata"] = {"promptTokenCount": 11, "candidatesTokenCount": usage, "thoughtsTokenCount": 4,
                                 "cachedContentTokenCount": 3, "totalTokenCount": 15 + usage}
    types.GenerateContentResponse.model_validate(body)     # every hand-written chunk is a real SDK response
    return body


def sse(*items: Any) -> bytes:
    return "".join(f"data: {json.dumps(i)}\r\n\r\n" for i in items).encode()


def array(*items: Any) -> bytes:
    return ("[" + ",\r\n".join(json.dumps(i) for i in items) + "]").encode()


def run(body: bytes, request: dict[str, Any] | None = None, size: int = 0, model: str = "gemini-2.5-flash"):
    parser = stream_parser("gemini", build_call("gemini", request or HI, model=model))
    chunks = [body[i:i + size] for i in range(0, len(body), size)] if size else [body]
    return parser, *parse_chunks(parser, chunks)


CALL = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnMQ=="}
CHUNKS = [resp([{"text": "Planning", "thought": True}], usage=1),
          resp([{"text": "Let me "}], usage=2), resp([{"text": "check."}], usage=3),
          resp([CALL, {"functionCall": {"name": "get_time", "args": {}}}], "STOP", usage=9)]


@pytest.mark.parametrize("frame", [sse, array])
@pytest.mark.parametrize("size", [0, 1, 29])
def test_text_thoughts_and_whole_function_calls(frame: Any, size: int) -> None:
    parser, deltas, response = run(frame(*CHUNKS), size=size)
    choice = response.choices[0]
    ids = [c.id for c in choice.message.tool_calls]
    assert deltas == [
        StreamDelta(content="Let me "), StreamDelta(content="check."),
        StreamDelta(tool_calls=(ToolCallDelta(0, ids[0], "get_weather", '{"city":"Paris"}'),)),
        StreamDelta(tool_calls=(ToolCallDelta(1, ids[1], "get_time", "{}"),)),
        StreamDelta(finish_reason="tool_calls")]
    assert choice.message.content == "Let me check." and choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].model_extra["extra_content"] == {"google": {"thought_signature": "c2lnMQ=="}}
    u = response.usage                                # last usage chunk; thoughts counted as completion
    assert (u.prompt_tokens, u.completion_tokens, u.completion_tokens_details.reasoning_tokens) == (11, 13, 4)
    whole = gemini.parse_response(parser.raw_body(), build_call("gemini", HI, model="gemini-2.5-flash"))
    assert response.model_dump(exclude={"id", "created"}) == whole.model_dump(exclude={"id", "created"})


def test_gemini_3_function_call_ids_are_kept() -> None:
    call = {"functionCall": {"id": "fc_7k2", "name": "get_weather", "args": {"city": "Oslo"}}}
    _, deltas, response = run(sse(resp([call], "STOP", usage=2)), model="gemini-3-pro-preview")
    assert deltas[0].tool_calls[0].id == "fc_7k2" == response.choices[0].message.tool_calls[0].id


RETRY = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}


@pytest.mark.parametrize(("error", "expected"), [
    ({"error": {"code": 400, "message": "The input token count (1196265) exceeds the maximum number of tokens "
                "allowed (1048575).", "status": "INVALID_ARGUMENT"}}, ErrorClass.CONTEXT_LENGTH),
    ({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
                "details": [RETRY]}}, ErrorClass.RATE_LIMITED),
    ({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}, ErrorClass.OVERLOADED),
])
@pytest.mark.parametrize("frame", [sse, array])
def test_error_chunk_first_is_classified_like_the_http_error(error: dict[str, Any], expected: ErrorClass,
                                                               frame: Any) -> None:
    parser = stream_parser("gemini", build_call("gemini", HI))
    with pytest.raises(ProviderError) as e:
        parser.feed(frame(error))
    assert e.value.error_class is expected and not parser.content_started
    if expected is ErrorClass.RATE_LIMITED:
        assert e.value.retry_after_s == 47.0


def test_error_after_content() -> None:
    parser = stream_parser("gemini", build_call("gemini", HI))
    error = {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}
    assert parser.feed(sse(resp([{"text": "Par"}]), error)) == [StreamDelta(content="Par")]
    with pytest.raises(ProviderError) as e:
        parser.close()
    assert e.value.error_class is ErrorClass.SERVER_ERROR and parser.content_started


@pytest.mark.parametrize(("body", "expected"), [
    (sse(resp([{"text": "no finish"}])), ErrorClass.STREAM_CUT),
    (array(resp([{"text": "a"}]))[:-1], ErrorClass.STREAM_CUT),
    (b"", ErrorClass.STREAM_CUT),
    (sse(resp(None, "SAFETY")), ErrorClass.CONTENT_FILTER),
    (sse({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}), ErrorClass.CONTENT_FILTER),
    (sse(resp([], "MALFORMED_FUNCTION_CALL")), ErrorClass.MALFORMED_RESPONSE),
    (b"data: [oops\r\n\r\n", ErrorClass.MALFORMED_RESPONSE),
    (b'{"candidates": []}', ErrorClass.MALFORMED_RESPONSE),          # one JSON object, not a stream
    (b'{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}', ErrorClass.OVERLOADED),
])
def test_unusable_streams(body: bytes, expected: ErrorClass) -> None:
    with pytest.raises(ProviderError) as e:
        run(body)
    assert e.value.error_class is expected


def test_finish_without_content_is_one_empty_choice() -> None:
    _, deltas, response = run(sse(resp([{"text": "partial "}]), resp(None, "MAX_TOKENS", usage=5)))
    assert deltas[-1] == StreamDelta(finish_reason="length")
    assert [(c.message.content, c.finish_reason) for c in response.choices] == [("partial ", "length")]
    _, _, empty = run(sse(resp(None, "STOP", usage=0)))
    assert [(c.message.content, c.finish_reason) for c in empty.choices] == [("", "stop")]


def test_several_candidates() -> None:
    body = sse(resp([{"text": "A"}], index=0), resp([{"text": "B"}], index=1), resp([{"text": "a"}], "STOP", index=0),
               resp([], "MAX_TOKENS", index=1))
    _, _, response = run(body, {**HI, "n": 2})
    assert [(c.index, c.message.content, c.finish_reason) for c in response.choices] == [
        (0, "Aa", "stop"), (1, "B", "length")]
