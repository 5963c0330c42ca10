"""OpenAI -> Anthropic Messages translation and back (providers.md §1.2, §4), checked against the
official ``anthropic`` SDK's own request and response types."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from anthropic.types import Message
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from openai.types.chat import ChatCompletion

from activities.providers.anthropic import AnthropicAdapter, build_request, parse_response
from activities.providers.anthropic_translate import anthropic_tool_id
from activities.providers.base import ProviderCall, ProviderError
from activities.providers.http import make_http_client
from core.config import TargetConfig
from core.errors import ErrorClass

SAMPLING = ("temperature", "top_p", "top_k")
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
PNG = "data:image/png;base64,iVBORw0KGgo="


@pytest.fixture
def body_of(make_call: Callable[..., ProviderCall], fits: Callable[[Any, Any], None]) -> Callable[..., Any]:
    """Translate a request and check the body against ``MessageCreateParamsNonStreaming``.

    Anthropic SDK 2.x no longer lists temperature/top_p/top_k (the newest models reject them,
    providers.md §0 #2), so those keys are checked separately, not against the SDK type."""
    def run(request: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], list[str]]:
        wire = build_request(make_call("anthropic", request, **kw))
        fits({k: v for k, v in wire.body.items() if k not in SAMPLING}, MessageCreateParamsNonStreaming)
        return wire.body, wire.notes
    return run


def test_text_chat(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "system", "content": "Be brief."},
                                        {"role": "user", "content": "Hello"}]})
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]
    assert body["model"] == "model-x" and body["max_tokens"] == 4096
    assert notes == []


def test_several_system_messages_hoisted_in_order_with_note(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [
        {"role": "system", "content": "A"}, {"role": "developer", "content": "B"},
        {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
        {"role": "system", "content": "C"}, {"role": "user", "content": "q2"}]})
    assert [b["text"] for b in body["system"]] == ["A", "B", "C"]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert any("position 4 hoisted" in n for n in notes)


def test_multi_turn_and_same_role_merging(body_of: Callable[..., Any]) -> None:
    body, _ = body_of({"messages": [
        {"role": "user", "content": "one"}, {"role": "user", "content": [{"type": "text", "text": "two"}]},
        {"role": "assistant", "content": "x"}, {"role": "assistant", "content": "y"},
        {"role": "user", "content": "three"}]})
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]},
        {"role": "user", "content": [{"type": "text", "text": "three"}]}]


def test_conversation_starting_with_assistant_gets_a_user_turn(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "assistant", "content": "Hi! How can I help?"},
                                        {"role": "user", "content": "Weather?"}]})
    assert body["messages"][0] == {"role": "user", "content": [{"type": "text", "text": "."}]}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert any("prepended" in n for n in notes)


def test_only_system_gets_a_user_turn(body_of: Callable[..., Any]) -> None:
    body, _ = body_of({"messages": [{"role": "system", "content": "You are terse."}]})
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "."}]}]


def test_empty_text_parts_dropped(body_of: Callable[..., Any]) -> None:
    body, _ = body_of({"messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "real"}]},
        {"role": "assistant", "content": ""}, {"role": "user", "content": "more"}]})
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "real"},
                                                             {"type": "text", "text": "more"}]}]


@pytest.mark.parametrize(("request_cap", "target_max", "expected", "noted"), [
    ({"max_completion_tokens": 300, "max_tokens": 999}, 8192, 300, False),
    ({"max_tokens": 500}, 8192, 500, False),
    ({}, 8192, 4096, False),
    ({}, 1024, 1024, False),
    ({"max_tokens": 20000}, 8192, 8192, True),
])
def test_max_tokens_required(body_of: Callable[..., Any], request_cap: dict[str, int], target_max: int,
                             expected: int, noted: bool) -> None:
    body, notes = body_of({"messages": [{"role": "user", "content": "x"}], **request_cap},
                          max_output_tokens=target_max)
    assert body["max_tokens"] == expected
    assert any("clamped" in n for n in notes) is noted


def test_temperature_clamped_with_note(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "user", "content": "x"}], "temperature": 1.7, "top_p": 0.9,
                           "top_k": 40})
    assert (body["temperature"], body["top_p"], body["top_k"]) == (1.0, 0.9, 40)
    assert any("temperature 1.7 clamped to 1" in n for n in notes)
    body, notes = body_of({"messages": [{"role": "user", "content": "x"}], "temperature": 0.3})
    assert body["temperature"] == 0.3 and notes == []


def test_sampling_dropped_for_targets_without_the_capability(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("anthropic", {"messages": [{"role": "user", "content": "x"}], "temperature": 0.2, "top_p": 0.5})
    call = dataclasses.replace(call, target=TargetConfig(provider="p", model="claude-sonnet-5",
                                                         capabilities=frozenset({"chat", "tools"})))
    wire = build_request(call)
    assert not set(SAMPLING) & set(wire.body)
    assert any("dropped temperature, top_p (target does not accept sampling" in n for n in wire.notes)


def test_unsupported_params_dropped_with_notes(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "user", "content": "x"}], "n": 3, "seed": 7, "logprobs": True,
                           "top_logprobs": 3, "presence_penalty": 0.5, "frequency_penalty": 0.2,
                           "logit_bias": {"50256": -100}, "stop": "END", "user": "u-42", "stream": True})
    for field in ("n", "seed", "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias",
                  "stream"):
        assert field not in body
    joined = " | ".join(notes)
    assert "n=3 not supported" in joined
    assert "dropped frequency_penalty, logit_bias, logprobs, presence_penalty, seed, top_logprobs" in joined
    assert "stream=true" in joined
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u-42"}


def test_stop_list_and_whitespace_only(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "user", "content": "x"}], "stop": ["\n\n", " ", "END", "\nQ:"]})
    assert body["stop_sequences"] == ["END", "\nQ:"]
    assert any("whitespace-only" in n for n in notes)


def test_tools_and_tool_choice(body_of: Callable[..., Any]) -> None:
    base = {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": [TOOL]}
    body, _ = body_of(base)
    assert body["tools"] == [{"name": "get_weather", "description": "Weather for a city",
                              "input_schema": TOOL["function"]["parameters"]}]
    assert "tool_choice" not in body
    expected = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}
    for choice, mapped in expected.items():
        assert body_of({**base, "tool_choice": choice})[0]["tool_choice"] == mapped
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert body_of({**base, "tool_choice": named})[0]["tool_choice"] == {"type": "tool", "name": "get_weather"}
    no_parallel = body_of({**base, "parallel_tool_calls": False})[0]
    assert no_parallel["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_tool_without_parameters_gets_an_object_schema(body_of: Callable[..., Any]) -> None:
    tool = {"type": "function", "function": {"name": "now"}}
    body, _ = body_of({"messages": [{"role": "user", "content": "time?"}], "tools": [tool]})
    assert body["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]


def test_tool_calls_and_results_history(body_of: Callable[..., Any]) -> None:
    body, _ = body_of({"messages": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"id": "call.b", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
        {"role": "tool", "tool_call_id": "call.b", "content": [{"type": "text", "text": "21C"}]},
        {"role": "user", "content": "Thanks, which is warmer?"}], "tools": [TOOL]})
    assistant, results = body["messages"][1], body["messages"][2]
    assert assistant["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": anthropic_tool_id("call.b"), "name": "get_weather", "input": {}}]
    assert anthropic_tool_id("call.b").startswith("call_b_") and anthropic_tool_id("call.b") != anthropic_tool_id(
        "call:b")                                           # rewritten ids never collide
    assert results == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_a", "content": "18C"},
        {"type": "tool_result", "tool_use_id": anthropic_tool_id("call.b"), "content": "21C"},
        {"type": "text", "text": "Thanks, which is warmer?"}]}


def test_bad_tool_arguments_fail_locally(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("anthropic", {"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{not json"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "r"}]})
    with pytest.raises(ProviderError) as e:
        build_request(call)
    assert e.value.error_class is ErrorClass.LOCAL_INVALID


def test_images(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}]})
    content = body["messages"][0]["content"]
    assert content[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                      "data": "iVBORw0KGgo="}}
    assert content[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    assert len(content) == 3             # formats and labels: tests/unit/test_translate_images.py


@pytest.mark.parametrize("fmt", [{"type": "json_object"},
                                 {"type": "json_schema", "json_schema": {"name": "city", "schema": {
                                     "type": "object", "properties": {"name": {"type": "string"}}}}}])
def test_json_mode_is_a_forced_tool(body_of: Callable[..., Any], make_call: Callable[..., ProviderCall],
                                    fmt: dict[str, Any]) -> None:
    request = {"messages": [{"role": "user", "content": "Give me a city as JSON"}], "response_format": fmt}
    body, notes = body_of(request)
    assert body["tool_choice"] == {"type": "tool", "name": "json_tool_call"}
    assert body["tools"][0]["name"] == "json_tool_call" and body["tools"][0]["input_schema"]["type"] == "object"
    answer = anthropic_message([{"type": "tool_use", "id": "toolu_1", "name": "json_tool_call",
                                 "input": {"name": "Paris"}}], "tool_use")
    out = parse_response(answer, make_call("anthropic", request))
    assert json.loads(out.choices[0].message.content or "") == {"name": "Paris"}
    assert out.choices[0].message.tool_calls is None and out.choices[0].finish_reason == "stop"


def test_json_schema_that_is_not_an_object_is_wrapped(make_call: Callable[..., ProviderCall]) -> None:
    request = {"messages": [{"role": "user", "content": "List three cities"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "cities", "schema": {
                   "type": "array", "items": {"type": "string"}}}}}
    call = make_call("anthropic", request)
    schema = build_request(call).body["tools"][0]["input_schema"]
    assert schema["properties"]["value"]["type"] == "array"
    answer = anthropic_message([{"type": "tool_use", "id": "t", "name": "json_tool_call",
                                 "input": {"value": ["Paris", "Rome", "Oslo"]}}], "tool_use")
    assert json.loads(parse_response(answer, call).text()) == ["Paris", "Rome", "Oslo"]


def test_headers(make_call: Callable[..., ProviderCall]) -> None:
    request = {"messages": [{"role": "user", "content": "x"}], "metadata": {"task_type": "support_reply"}}
    wire = build_request(make_call("anthropic", request, headers={"anthropic-beta": "feature-x"},
                                   send_task_type=True))
    assert wire.url == "https://api.anthropic.com/v1/messages"
    assert wire.headers["x-api-key"] == "sk-test" and wire.headers["anthropic-version"] == "2023-06-01"
    assert wire.headers["anthropic-beta"] == "feature-x"
    assert wire.headers["x-switchyard-task-type"] == "support_reply"
    assert "metadata" not in wire.body
    keyless = build_request(make_call("anthropic", {"messages": [{"role": "user", "content": "x"}]}, api_key=None))
    assert "x-api-key" not in keyless.headers and "authorization" not in keyless.headers


# --- responses ------------------------------------------------------------------------------------------

def anthropic_message(content: list[dict[str, Any]], stop_reason: str | None,
                      usage: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A Messages response in the §1.2 shape, validated by the SDK's own ``Message`` model."""
    body = {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
            "model": "claude-3-5-haiku-20241022", "content": content, "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage or {"input_tokens": 25, "output_tokens": 12, "cache_creation_input_tokens": 0,
                               "cache_read_input_tokens": 0}, **extra}
    Message.model_validate(body)
    return body


def test_parse_text_and_tool_use(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("anthropic", {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": [TOOL]})
    answer = anthropic_message([
        {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
         "input": {"city": "Paris"}}], "tool_use",
        usage={"input_tokens": 100, "output_tokens": 40, "cache_creation_input_tokens": 20,
               "cache_read_input_tokens": 300})
    out = parse_response(answer, call)
    ChatCompletion.model_validate(out.model_dump())
    msg = out.choices[0].message
    assert msg.content == "Let me check."
    assert msg.tool_calls is not None and msg.tool_calls[0].id == "toolu_01A09q90qw90lq917835lq9"
    assert json.loads(msg.tool_calls[0].function.arguments) == {"city": "Paris"}
    assert out.choices[0].finish_reason == "tool_calls"
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.total_tokens) == (420, 40, 460)
    assert out.usage.prompt_tokens_details is not None and out.usage.prompt_tokens_details.cached_tokens == 300
    assert out.model == "model-x" and out.id.startswith("chatcmpl-") and not out.usage.estimated


@pytest.mark.parametrize(("stop_reason", "finish"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "stop"),
    ("model_context_window_exceeded", "length"), ("refusal", "content_filter"), ("pause_turn", "stop"),
    (None, "stop")])
def test_stop_reasons(make_call: Callable[..., ProviderCall], stop_reason: str | None, finish: str) -> None:
    call = make_call("anthropic", {"messages": [{"role": "user", "content": "x"}]})
    body = anthropic_message([{"type": "text", "text": "partial"}], stop_reason)
    assert parse_response(body, call).choices[0].finish_reason == finish


def test_refusal_without_text_keeps_one_choice(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("anthropic", {"messages": [{"role": "user", "content": "x"}]})
    body = anthropic_message([], "refusal")
    out = parse_response(body, call)
    assert len(out.choices) == 1 and out.choices[0].message.content == ""
    assert out.choices[0].finish_reason == "content_filter"


def test_missing_usage_is_estimated(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("anthropic", {"messages": [{"role": "user", "content": "x" * 400}]})
    body = {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "y" * 80}],
            "stop_reason": "end_turn"}
    out = parse_response(body, call)
    assert out.usage.estimated and out.usage.completion_tokens == 20 and out.usage.prompt_tokens > 100


# --- one HTTP call per complete(), never a retry ------------------------------------------------------------

async def test_complete_makes_exactly_one_call_and_maps_500(make_call: Callable[..., ProviderCall]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"type": "error", "error": {"type": "api_error",
                                                                    "message": "Internal server error"}})

    async with make_http_client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderError) as e:
            await AnthropicAdapter().complete(client, make_call("anthropic", {"messages": [
                {"role": "user", "content": "x"}]}))
    assert len(calls) == 1
    assert e.value.error_class is ErrorClass.SERVER_ERROR and e.value.status == 500
    assert e.value.message == "Internal server error" and e.value.code == "api_error"


async def test_complete_success_and_529(make_call: Callable[..., ProviderCall]) -> None:
    answers = [httpx.Response(200, json=anthropic_message([{"type": "text", "text": "Hi!"}], "end_turn"),
                              headers={"request-id": "req_1"}),
               httpx.Response(529, json={"type": "error", "error": {"type": "overloaded_error",
                                                                    "message": "Overloaded"}},
                              headers={"retry-after": "3", "x-should-retry": "true"})]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    call = make_call("anthropic", {"messages": [{"role": "user", "content": "hello"}], "seed": 1})
    async with make_http_client(transport=httpx.MockTransport(handler)) as client:
        result = await AnthropicAdapter().complete(client, call)
        with pytest.raises(ProviderError) as e:
            await AnthropicAdapter().complete(client, call)
    assert result.response.text() == "Hi!" and result.upstream_id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert result.ttft_ms is not None and result.ttft_ms >= 0
    assert any("seed" in n for n in result.notes)
    assert json.loads(seen[0].content)["messages"][0]["content"][0]["text"] == "hello"
    assert seen[0].headers["x-api-key"] == "sk-test"
    assert (e.value.error_class, e.value.retry_after_s, e.value.should_retry) == (ErrorClass.OVERLOADED, 3.0, True)


async def test_refusal_without_content_raises_content_filtered(make_call: Callable[..., ProviderCall]) -> None:
    body = anthropic_message([], "refusal", stop_details={"type": "refusal", "category": "cyber",
                                                         "explanation": "policy"})

    async with make_http_client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body))) as client:
        with pytest.raises(ProviderError) as e:
            await AnthropicAdapter().complete(client, make_call("anthropic", {"messages": [
                {"role": "user", "content": "x"}]}))
    assert e.value.error_class is ErrorClass.CONTENT_FILTER


async def test_pause_turn_is_flagged(make_call: Callable[..., ProviderCall]) -> None:
    body = anthropic_message([{"type": "text", "text": "Searching..."}], "pause_turn")
    async with make_http_client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body))) as client:
        result = await AnthropicAdapter().complete(client, make_call("anthropic", {"messages": [
            {"role": "user", "content": "x"}]}))
    assert result.response.choices[0].finish_reason == "stop"
    assert any("pause_turn" in n for n in result.notes)


def test_prefill_trailing_whitespace_is_trimmed(body_of: Callable[..., Any]) -> None:
    """Anthropic rejects a final assistant turn ending in whitespace."""
    body, notes = body_of({"messages": [{"role": "user", "content": "Name a colour."},
                                        {"role": "assistant", "content": [{"type": "text", "text": "The colour is "},
                                                                          {"type": "text", "text": "  "}]}]})
    assert body["messages"][-1] == {"role": "assistant", "content": [{"type": "text", "text": "The colour is"}]}
    assert "anthropic: trailing whitespace trimmed from the assistant prefill" in notes
    assert "anthropic: whitespace-only text parts not sent (Anthropic rejects them)" in notes


@pytest.mark.parametrize(("choice", "expected"), [
    (None, {"type": "any"}), ("auto", {"type": "any"}), ("none", {"type": "tool", "name": "json_tool_call"}),
    ("required", {"type": "any"}),
    ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"})])
def test_json_beside_the_callers_tools(body_of: Callable[..., Any], choice: Any, expected: dict[str, Any]) -> None:
    """JSON with tools: the model calls a tool or answers through json_tool_call, never free text."""
    request = {"messages": [{"role": "user", "content": "Weather as JSON?"}], "tools": [TOOL],
               "response_format": {"type": "json_object"}, **({"tool_choice": choice} if choice else {})}
    body, notes = body_of(request)
    assert body["tool_choice"] == expected and [t["name"] for t in body["tools"]] == ["get_weather", "json_tool_call"]
    assert any("json_tool_call" in n for n in notes)
