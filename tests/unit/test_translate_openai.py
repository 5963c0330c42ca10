"""OpenAI-compatible adapter (OpenAI, Mistral, vLLM, Ollama, llama.cpp): request body checked against
the ``openai`` SDK's ``CompletionCreateParams``, Mistral's dialect, response parsing, and the shared
one-POST pipeline (httpx exception map, no retries)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.http import make_http_client
from activities.providers.mistral_dialect import mistral_tool_id
from activities.providers.openai import OpenAIAdapter, build_request, parse_response
from activities.providers.registry import adapter_for, protocols
from core.config import TargetConfig
from core.errors import ErrorClass

MISTRAL = "https://api.mistral.ai/v1"
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}
HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_abc123def456", "type": "function", "function": {"name": "get_weather",
                                                                    "arguments": '{"city":"Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_abc123def456", "content": "18C"},
    {"role": "user", "content": "And tomorrow?"}]


def completion(message: dict[str, Any], finish: str | None = "stop", usage: dict[str, Any] | None = None,
               **extra: Any) -> dict[str, Any]:
    body = {"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
            "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_eb9dce56a8",
            "choices": [{"index": 0, "message": {"role": "assistant", "refusal": None, **message},
                         "finish_reason": finish, "logprobs": None}], **extra}
    if usage is not None:
        body["usage"] = usage
    return body


def test_body_is_the_callers_with_the_target_model(make_call: Callable[..., ProviderCall],
                                                   fits: Callable[[Any, Any], None]) -> None:
    messages = [{"role": "system", "content": "Be brief; answer in JSON."}, *HISTORY[1:]]
    request = {"model": "gateway-alias", "messages": messages, "tools": [TOOL], "tool_choice": "auto",
               "temperature": 0.2, "max_completion_tokens": 300, "seed": 3, "stop": ["END"],
               "response_format": {"type": "json_object"}, "logprobs": True, "top_logprobs": 2,
               "parallel_tool_calls": False, "user": "u1", "service_tier": "auto"}
    wire = build_request(make_call("openai", request, model="gpt-4o"))
    fits(wire.body, CompletionCreateParamsNonStreaming)
    assert wire.url == "https://api.openai.com/v1/chat/completions"
    assert wire.headers["authorization"] == "Bearer sk-test"
    assert wire.body["model"] == "gpt-4o" and wire.body["logprobs"] is True and wire.body["service_tier"] == "auto"
    assert wire.body["messages"][3] == {"role": "tool", "content": "18C", "tool_call_id": "call_abc123def456"}
    assert wire.notes == []


def test_stream_metadata_and_keyless(make_call: Callable[..., ProviderCall]) -> None:
    request = {"messages": [{"role": "user", "content": "x"}], "stream": True,
               "stream_options": {"include_usage": True}, "metadata": {"task_type": "support"}}
    wire = build_request(make_call("openai", request, base_url="http://localhost:11434/v1", api_key=None,
                                   send_task_type=True))
    assert not {"stream", "stream_options", "metadata"} & set(wire.body)
    assert "authorization" not in wire.headers and wire.headers["x-switchyard-task-type"] == "support"
    private = build_request(make_call("openai", request))  # real providers are not told route names
    assert "x-switchyard-task-type" not in private.headers
    assert any("stream=true" in n for n in wire.notes)
    stored = build_request(make_call("openai", {**request, "store": True}))
    assert stored.body["metadata"] == {"task_type": "support"}


def test_unknown_fields_reach_compatible_servers(make_call: Callable[..., ProviderCall]) -> None:
    wire = build_request(make_call("openai", {"messages": [{"role": "user", "content": "x"}], "top_k": 20,
                                              "repetition_penalty": 1.1}, base_url="http://vllm:8000/v1"))
    assert wire.body["top_k"] == 20 and wire.body["repetition_penalty"] == 1.1


def test_sampling_capability(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("openai", {"messages": [{"role": "user", "content": "x"}], "temperature": 0.7, "top_p": 0.9})
    call = dataclasses.replace(call, target=TargetConfig(provider="p", model="o3", capabilities=frozenset({"chat"})))
    wire = build_request(call)
    assert "temperature" not in wire.body and "top_p" not in wire.body
    assert any("dropped temperature, top_p" in n for n in wire.notes)


def test_gemini_extra_content_kept_only_for_google(make_call: Callable[..., ProviderCall]) -> None:
    history = json.loads(json.dumps(HISTORY))
    history[2]["tool_calls"][0]["extra_content"] = {"google": {"thought_signature": "c2ln"}}
    wire = build_request(make_call("openai", {"messages": history}))
    assert "extra_content" not in wire.body["messages"][2]["tool_calls"][0]
    google = build_request(make_call("openai", {"messages": history},
                                     base_url="https://generativelanguage.googleapis.com/v1beta/openai"))
    assert google.body["messages"][2]["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": "c2ln"}}


# --- Mistral dialect ------------------------------------------------------------------------------------

def test_mistral_renames_and_drops(make_call: Callable[..., ProviderCall]) -> None:
    request = {"messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "x"}],
               "max_completion_tokens": 200, "seed": 7, "logprobs": True, "top_logprobs": 2, "logit_bias": {"1": 2},
               "user": "u1", "service_tier": "auto", "stream_options": {"include_usage": True}, "temperature": 0.3,
               "response_format": {"type": "json_object"}, "n": 2}
    wire = build_request(make_call("openai", request, base_url=MISTRAL, model="mistral-large-2411"))
    body = wire.body
    assert body["max_tokens"] == 200 and body["random_seed"] == 7
    assert set(body) == {"model", "messages", "max_tokens", "random_seed", "temperature", "response_format", "n"}
    assert body["messages"][0]["role"] == "system"
    joined = " | ".join(wire.notes)
    assert "max_completion_tokens sent as max_tokens" in joined and "seed sent as random_seed" in joined
    assert "dropped logit_bias, logprobs, service_tier, top_logprobs, user" in joined


def test_mistral_tool_ids_bridge_and_prefix(make_call: Callable[..., ProviderCall]) -> None:
    history = [*HISTORY, {"role": "assistant", "content": "Tomorrow it will be"}]
    wire = build_request(make_call("openai", {"messages": history, "tools": [TOOL]}, base_url=MISTRAL))
    msgs = wire.body["messages"]
    new_id = mistral_tool_id("call_abc123def456")
    assert len(new_id) == 9 and new_id.isalnum()
    assert msgs[2]["tool_calls"][0]["id"] == new_id and msgs[3]["tool_call_id"] == new_id
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert msgs[-1]["prefix"] is True
    assert mistral_tool_id("abcDEF123") == "abcDEF123"


async def test_mistral_translation_errors_are_translation_rejected(make_call: Callable[..., ProviderCall]) -> None:
    body = {"object": "error", "message": "Unexpected role 'user' after role 'tool'",
            "type": "invalid_request_message_order", "param": None, "code": "3230"}
    async with make_http_client(transport=httpx.MockTransport(lambda r: httpx.Response(400, json=body))) as client:
        with pytest.raises(ProviderError) as e:
            await OpenAIAdapter().complete(client, make_call("openai", {"messages": HISTORY}, base_url=MISTRAL))
        assert e.value.error_class is ErrorClass.TRANSLATION_REJECTED
        with pytest.raises(ProviderError) as e:
            await OpenAIAdapter().complete(client, make_call("openai", {"messages": HISTORY}))
        assert e.value.error_class is ErrorClass.INVALID_REQUEST


# --- responses -------------------------------------------------------------------------------------------

def test_parse_openai_response(make_call: Callable[..., ProviderCall]) -> None:
    body = completion({"content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city":"Paris"}'}}]}, "tool_calls",
        {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99,
         "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
         "completion_tokens_details": {"reasoning_tokens": 5, "audio_tokens": 0}})
    ChatCompletion.model_validate(body)
    out = parse_response(body, make_call("openai", {"messages": [{"role": "user", "content": "x"}]}, model="gpt-4o"))
    ChatCompletion.model_validate(out.model_dump())
    assert out.model == "gpt-4o" and out.id.startswith("chatcmpl-") and out.system_fingerprint == "fp_eb9dce56a8"
    assert out.choices[0].finish_reason == "tool_calls"
    assert out.choices[0].message.tool_calls and out.choices[0].message.tool_calls[0].id == "call_1"
    assert out.usage.prompt_tokens_details and out.usage.prompt_tokens_details.cached_tokens == 64
    assert out.usage.completion_tokens_details and out.usage.completion_tokens_details.reasoning_tokens == 5


def test_parse_mistral_quirks(make_call: Callable[..., ProviderCall]) -> None:
    body = {"id": "cmpl-e5cc70bb28c444948073e77776eb30ef", "object": "chat.completion", "created": 1702256327,
            "model": "mistral-large-2411", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "D681PevKs", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                 "finish_reason": "tool_calls"},
                {"index": 1, "message": {"role": "assistant", "content": "Long answer"},
                 "finish_reason": "model_length"}],
            "usage": {"prompt_tokens": 16, "completion_tokens": 34, "total_tokens": 50}}
    out = parse_response(body, make_call("openai", {"messages": [{"role": "user", "content": "x"}]}, base_url=MISTRAL))
    assert out.choices[0].message.tool_calls and json.loads(out.choices[0].message.tool_calls[0].function.arguments) \
        == {"city": "Paris"}
    assert out.choices[1].finish_reason == "length"


def test_missing_usage_is_estimated(make_call: Callable[..., ProviderCall]) -> None:
    out = parse_response(completion({"content": "abcd" * 10}), make_call("openai", {"messages": [
        {"role": "user", "content": "hello"}]}))
    assert out.usage.estimated and out.usage.completion_tokens == 10


def test_silent_truncation_is_context_length(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("openai", {"messages": [{"role": "user", "content": "word " * 4000}]},
                     base_url="http://localhost:11434/v1")
    cut = completion({"content": "partial"}, "length", {"prompt_tokens": 2048, "completion_tokens": 10,
                                                        "total_tokens": 2058})
    with pytest.raises(ProviderError) as e:
        OpenAIAdapter().parse_response(cut, call)
    assert e.value.error_class is ErrorClass.CONTEXT_LENGTH
    fine = completion({"content": "ok"}, "length", {"prompt_tokens": 4100, "completion_tokens": 10,
                                                    "total_tokens": 4110})
    assert OpenAIAdapter().parse_response(fine, call).text() == "ok"


# --- complete(): one POST, classified -----------------------------------------------------------------------

async def run_complete(handler: Callable[[httpx.Request], httpx.Response], call: ProviderCall) -> Any:
    async with make_http_client(transport=httpx.MockTransport(handler)) as client:
        return await OpenAIAdapter().complete(client, call)


async def test_complete_makes_exactly_one_call_and_maps_500(make_call: Callable[..., ProviderCall]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"error": {"message": "The server had an error while processing your "
                                                   "request.", "type": "server_error", "param": None, "code": None}},
                              headers={"x-should-retry": "true"})

    with pytest.raises(ProviderError) as e:
        await run_complete(handler, make_call("openai", {"messages": [{"role": "user", "content": "x"}]}))
    assert len(calls) == 1
    assert (e.value.error_class, e.value.status, e.value.should_retry) == (ErrorClass.SERVER_ERROR, 500, True)


async def test_complete_success(make_call: Callable[..., ProviderCall]) -> None:
    body = completion({"content": "Hello!"}, usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})
    result = await run_complete(lambda r: httpx.Response(200, json=body, headers={"x-request-id": "req_1"}),
                                make_call("openai", {"messages": [{"role": "user", "content": "hi"}], "stream": True}))
    assert result.response.text() == "Hello!" and result.upstream_id == body["id"]
    assert result.response.id != body["id"] and result.response.created > 1741570283
    assert result.ttft_ms is not None and any("stream" in n for n in result.notes)


@pytest.mark.parametrize(("exc", "error_class"), [
    (httpx.ConnectError("refused"), ErrorClass.CONNECT),
    (httpx.ConnectTimeout("slow connect"), ErrorClass.CONNECT),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), ErrorClass.CONNECT),
    (httpx.ReadError("reset"), ErrorClass.CONNECT),
    (httpx.ReadTimeout("no headers"), ErrorClass.TIMEOUT),
    (httpx.WriteTimeout("stuck"), ErrorClass.TIMEOUT),
    (httpx.PoolTimeout("pool"), ErrorClass.TIMEOUT),
])
async def test_transport_errors(make_call: Callable[..., ProviderCall], exc: Exception,
                                error_class: ErrorClass) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise exc

    with pytest.raises(ProviderError) as e:
        await run_complete(handler, make_call("openai", {"messages": [{"role": "user", "content": "x"}]}))
    assert e.value.error_class is error_class and e.value.status is None and len(calls) == 1


@pytest.mark.parametrize(("status", "content", "error_class"), [
    (200, b"<html>oops</html>", ErrorClass.MALFORMED_RESPONSE),
    (200, json.dumps({"error": {"code": 429, "message": "Rate limit exceeded"}, "choices": []}).encode(),
     ErrorClass.RATE_LIMITED),
    (200, json.dumps(completion({"content": None}, "content_filter")).encode(), ErrorClass.CONTENT_FILTER),
    (200, json.dumps({"id": "x", "choices": []}).encode(), ErrorClass.MALFORMED_RESPONSE),
    (429, json.dumps({"status": "come back later"}).encode(), ErrorClass.RATE_LIMITED),
    (503, b"Service Unavailable", ErrorClass.OVERLOADED),
    (404, json.dumps({"error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request_error",
                                "code": "model_not_found"}}).encode(), ErrorClass.MODEL_NOT_FOUND),
])
async def test_answer_classification(make_call: Callable[..., ProviderCall], status: int, content: bytes,
                                     error_class: ErrorClass) -> None:
    with pytest.raises(ProviderError) as e:
        await run_complete(lambda r: httpx.Response(status, content=content),
                           make_call("openai", {"messages": [{"role": "user", "content": "x"}]}))
    assert e.value.error_class is error_class


async def test_bad_tool_json_never_reaches_the_network(make_call: Callable[..., ProviderCall]) -> None:
    calls: list[httpx.Request] = []
    call = make_call("anthropic", {"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "r"}]})
    async with make_http_client(transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200))) as c:
        with pytest.raises(ProviderError) as e:
            await adapter_for("anthropic").complete(c, call)
    assert e.value.error_class is ErrorClass.LOCAL_INVALID and calls == []


def test_registry() -> None:
    assert protocols() == ["anthropic", "gemini", "openai"]
    assert adapter_for("openai").protocol == "openai"
    with pytest.raises(KeyError):
        adapter_for("cohere")


def test_json_mode_without_the_word_json_gets_a_system_message(make_call: Callable[..., ProviderCall]) -> None:
    """OpenAI rejects json_object mode when no message says "json" (providers.md §0 #18); requests
    written for another provider often do not."""
    request = {"messages": [{"role": "user", "content": "List three planets."}],
               "response_format": {"type": "json_object"}}
    wire = build_request(make_call("openai", request))
    assert wire.body["messages"][0] == {"role": "system", "content": "Respond in JSON."}
    assert any("json_object mode requires" in n for n in wire.notes)
    request["messages"] = [{"role": "user", "content": [{"type": "text", "text": "Planets as Json please"}]}]
    wire = build_request(make_call("openai", request))
    assert len(wire.body["messages"]) == 1 and wire.notes == []


def test_openai_gets_at_most_four_stop_sequences(make_call: Callable[..., ProviderCall]) -> None:
    request = {"messages": [{"role": "user", "content": "Count"}], "stop": ["5", "6", "7", "8", "9"]}
    wire = build_request(make_call("openai", request))
    assert wire.body["stop"] == ["5", "6", "7", "8"] and any("first 4 of 5 stop" in n for n in wire.notes)
    local = build_request(make_call("openai", request, base_url="http://127.0.0.1:8000/v1"))
    assert local.body["stop"] == request["stop"] and local.notes == []          # vLLM & co. take more


def test_output_cap_above_the_targets_maximum_is_clamped_with_a_note(make_call: Callable[..., ProviderCall]) -> None:
    request = {"messages": [{"role": "user", "content": "Write"}], "max_tokens": 100000}
    wire = build_request(make_call("openai", request, max_output_tokens=16384))
    assert wire.body["max_tokens"] == 16384
    assert wire.notes == ["openai: max_tokens 100000 clamped to the target's maximum 16384"]
    request = {"messages": [{"role": "user", "content": "Write"}], "max_completion_tokens": 300}
    assert build_request(make_call("openai", request, max_output_tokens=16384)).body["max_completion_tokens"] == 300
