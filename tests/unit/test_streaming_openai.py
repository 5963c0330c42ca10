"""OpenAI-compatible streaming parser on hand-written chunk sequences (providers.md §2.1, §2.4):
text, parallel tool calls by index, Mistral's whole calls, n > 1, usage chunk, truncation, and errors
inside a 200 stream classified like the HTTP error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from activities.providers.base import ProviderError
from activities.providers.stream_base import StreamDelta, ToolCallDelta, parse_chunks
from activities.providers.streaming import stream_parser
from core.errors import ErrorClass
from tests.unit.conftest import build_call

HEAD = {"id": "chatcmpl-abc", "object": "chat.completion.chunk", "created": 1741570283, "model": "gpt-4o",
        "system_fingerprint": "fp_1"}
USAGE = {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21,
         "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 2}}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, index: int = 0, **extra: Any) -> dict:
    body = {**HEAD, "choices": [{"index": index, "delta": delta or {}, "logprobs": None, "finish_reason": finish}],
            **extra}
    ChatCompletionChunk.model_validate(body)                 # every hand-written chunk is a real SDK chunk
    return body


def sse(*items: Any, done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(i)}\n\n" for i in items] + (["data: [DONE]\n\n"] if done else [])
    return "".join(lines).encode()


def run(body: bytes, request: dict[str, Any] | None = None, size: int = 0, **call_kw: Any):
    parser = stream_parser("openai", build_call("openai", request or {"messages": [{"role": "user", "content": "hi"}]},
                                                **call_kw))
    chunks = [body[i:i + size] for i in range(0, len(body), size)] if size else [body]
    return parser, *parse_chunks(parser, chunks)


TEXT = sse(chunk({"role": "assistant", "content": "", "refusal": None}), chunk({"content": "Hel"}),
           chunk({"content": "lo"}), chunk(finish="stop"), {**HEAD, "choices": [], "usage": USAGE})


@pytest.mark.parametrize("size", [0, 1, 13])
def test_text_deltas_usage_on_final_chunk(size: int) -> None:
    _, deltas, response = run(TEXT, size=size)
    assert deltas == [StreamDelta(content="Hel"), StreamDelta(content="lo"), StreamDelta(finish_reason="stop")]
    assert response.text() == "Hello" and response.choices[0].finish_reason == "stop"
    u = response.usage
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens, u.estimated) == (12, 9, 21, False)
    assert u.prompt_tokens_details.cached_tokens == 4 and u.completion_tokens_details.reasoning_tokens == 2
    ChatCompletion.model_validate(response.model_dump())


def test_parallel_tool_calls_assembled_by_index() -> None:
    body = sse(chunk({"role": "assistant", "content": None}),
               chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                      "function": {"name": "get_weather", "arguments": ""}}]}),
               chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                      "function": {"name": "get_time", "arguments": ""}}]}),
               chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Pa'}}]}),
               chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"tz": "CET"}'}}]}),
               chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ris"}'}}]}),
               chunk(finish="tool_calls"))
    _, deltas, response = run(body)
    assert deltas[0] == StreamDelta(tool_calls=(ToolCallDelta(0, "call_a", "get_weather", ""),))
    assert deltas[3] == StreamDelta(tool_calls=(ToolCallDelta(1, arguments='{"tz": "CET"}'),))
    calls = response.choices[0].message.tool_calls
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_a", "get_weather", {"city": "Paris"}), ("call_b", "get_time", {"tz": "CET"})]
    assert response.choices[0].finish_reason == "tool_calls" and response.choices[0].message.content is None
    assert response.usage.estimated                          # no usage chunk: estimated and flagged


def test_mistral_whole_calls_at_index_zero_and_no_done() -> None:
    """Mistral sends each whole call at index 0 and its usage on the last chunk; no [DONE] needed
    once every choice has finished."""
    calls = [{"index": 0, "id": "AbC123xyz", "function": {"name": "a", "arguments": '{"x": 1}'}},
             {"index": 0, "id": "ZzZ987qwe", "function": {"name": "b", "arguments": '{"y": 2}'}}]
    body = sse(chunk({"role": "assistant", "content": ""}), chunk({"tool_calls": calls}),
               chunk(finish="tool_calls", usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}),
               done=False)
    _, _, response = run(body, base_url="https://api.mistral.ai/v1")
    assert [c.id for c in response.choices[0].message.tool_calls] == ["AbC123xyz", "ZzZ987qwe"]
    assert response.usage.total_tokens == 12 and not response.usage.estimated


def test_several_choices_interleaved() -> None:
    body = sse(chunk({"content": "A"}, index=0), chunk({"content": "B"}, index=1), chunk({"content": "a"}, index=0),
               chunk(finish="stop", index=1), chunk(finish="length", index=0))
    _, deltas, response = run(body, {"messages": [{"role": "user", "content": "hi"}], "n": 2})
    assert [(c.index, c.message.content, c.finish_reason) for c in response.choices] == [
        (0, "Aa", "length"), (1, "B", "stop")]
    assert [d.index for d in deltas] == [0, 1, 0, 1, 0]


CONTEXT_ERROR = {"error": {"message": "This model's maximum context length is 32768 tokens. However, you requested "
                           "33077 tokens (32077 in the messages, 1000 in the completion).",
                           "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}


def test_context_length_error_as_first_event_of_a_200_stream() -> None:
    parser = stream_parser("openai", build_call("openai", {"messages": [{"role": "user", "content": "hi"}]}))
    with pytest.raises(ProviderError) as e:
        parser.feed(sse(CONTEXT_ERROR, done=False))
    assert e.value.error_class is ErrorClass.CONTEXT_LENGTH and not parser.content_started


@pytest.mark.parametrize(("error", "expected"), [
    ({"error": {"message": "Rate limit reached. Please try again in 1.5s.", "type": "requests",
                "code": "rate_limit_exceeded"}}, ErrorClass.RATE_LIMITED),
    ({"object": "error", "message": "Internal server error", "type": "InternalServerError", "code": 500},
     ErrorClass.SERVER_ERROR),                                         # vLLM flat body
    ({"error": {"code": 400, "message": "the request exceeds the available context size",
                "type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096}},
     ErrorClass.CONTEXT_LENGTH),                                       # llama.cpp
])
def test_error_after_content_comes_after_the_deltas(error: dict[str, Any], expected: ErrorClass) -> None:
    parser = stream_parser("openai", build_call("openai", {"messages": [{"role": "user", "content": "hi"}]}))
    deltas = parser.feed(sse(chunk({"content": "Partial"}), error, done=False))
    assert deltas == [StreamDelta(content="Partial")] and parser.content_started
    with pytest.raises(ProviderError) as e:
        parser.close()
    assert e.value.error_class is expected
    if expected is ErrorClass.RATE_LIMITED:
        assert e.value.retry_after_s == pytest.approx(1.5)


@pytest.mark.parametrize(("body", "expected"), [
    (sse(chunk({"content": "Hel"}), done=False), ErrorClass.STREAM_CUT),
    (b"", ErrorClass.STREAM_CUT),
    (b"data: {not json\n\n", ErrorClass.MALFORMED_RESPONSE),
    (sse(chunk({"content": None}, finish="content_filter")), ErrorClass.CONTENT_FILTER),
    (sse(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{oops"}}]},
               finish="tool_calls")), ErrorClass.MALFORMED_RESPONSE),
    (sse({"choices": []}), ErrorClass.MALFORMED_RESPONSE),
])
def test_unusable_streams(body: bytes, expected: ErrorClass) -> None:
    with pytest.raises(ProviderError) as e:
        run(body)
    assert e.value.error_class is expected


def test_finish_without_content_is_one_empty_choice() -> None:
    _, _, response = run(sse(chunk({"role": "assistant"}), chunk(finish="length")))
    assert [(c.message.content, c.finish_reason) for c in response.choices] == [("", "length")]


def test_feed_after_an_error_keeps_raising_it() -> None:
    parser = stream_parser("openai", build_call("openai", {"messages": [{"role": "user", "content": "hi"}]}))
    parser.feed(sse(chunk({"content": "x"}), CONTEXT_ERROR, done=False))
    for _ in range(2):
        with pytest.raises(ProviderError):
            parser.feed(b"data: [DONE]\n\n")


def test_a_200_body_that_is_not_a_stream_is_read_whole() -> None:
    """A server that ignores ``stream: true`` answers with one ``chat.completion``; LM Studio and old
    llama.cpp answer a streamed request with a 200 error body (providers.md §1.5)."""
    whole = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": "Whole"}, "finish_reason": "stop"}]}
    parser, deltas, response = run(json.dumps(whole).encode(), size=5)
    assert deltas == [] and response.text() == "Whole" and parser.raw_body() == whole
    with pytest.raises(ProviderError) as e:
        run(b'  {"error": {"code": 429, "message": "Rate limit exceeded"}, "choices": []}')
    assert e.value.error_class is ErrorClass.RATE_LIMITED
