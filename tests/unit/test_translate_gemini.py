"""OpenAI -> Gemini generateContent translation and back (providers.md §1.3, §4), checked against the
official ``google-genai`` SDK's pydantic types (camelCase REST aliases, unknown fields forbidden)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from google.genai import types
from openai.types.chat import ChatCompletion

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.gemini import GeminiAdapter, build_request, parse_response, synthetic_call_id
from activities.providers.gemini_translate import DUMMY_THOUGHT_SIGNATURE
from activities.providers.http import make_http_client
from core.config import TargetConfig
from core.errors import ErrorClass

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"], "additionalProperties": False}}}
BODY_KEYS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings",
             "cachedContent"}


def check_body(body: dict[str, Any]) -> None:
    """Every part of a REST body validates as the SDK's own type."""
    assert set(body) <= BODY_KEYS
    for content in body["contents"]:
        types.Content.model_validate(content)
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
    if "toolConfig" in body:
        types.ToolConfig.model_validate(body["toolConfig"])
    if "generationConfig" in body:
        types.GenerationConfig.model_validate(body["generationConfig"])


@pytest.fixture
def body_of(make_call: Callable[..., ProviderCall]) -> Callable[..., Any]:
    def run(request: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], list[str]]:
        wire = build_request(make_call("gemini", request, **kw))
        check_body(wire.body)
        return wire.body, wire.notes
    return run


def roles(body: dict[str, Any]) -> list[str]:
    return [c["role"] for c in body["contents"]]


def test_text_chat_and_url(body_of: Callable[..., Any], make_call: Callable[..., ProviderCall]) -> None:
    body, notes = body_of({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]})
    assert body == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
                    "systemInstruction": {"parts": [{"text": "Be brief."}]}}
    assert notes == []
    wire = build_request(make_call("gemini", {"messages": [{"role": "user", "content": "x"}]},
                                   model="gemini-2.5-flash"))
    assert wire.url == ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent")
    assert wire.headers["x-goog-api-key"] == "sk-test" and "authorization" not in wire.headers


def test_no_key_no_auth_header(make_call: Callable[..., ProviderCall]) -> None:
    wire = build_request(make_call("gemini", {"messages": [{"role": "user", "content": "x"}]}, api_key=None))
    assert "x-goog-api-key" not in wire.headers


def test_several_system_messages_all_kept_in_order(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [
        {"role": "system", "content": "A"}, {"role": "user", "content": "q"},
        {"role": "developer", "content": "B"}, {"role": "assistant", "content": "a"},
        {"role": "system", "content": "C"}]})
    assert body["systemInstruction"] == {"parts": [{"text": "A"}, {"text": "B"}, {"text": "C"}]}
    assert roles(body) == ["user", "model"]
    assert sum("hoisted" in n for n in notes) == 2


def test_merging_and_alternation(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [
        {"role": "assistant", "content": "Welcome!"}, {"role": "assistant", "content": "Ask me."},
        {"role": "user", "content": "one"}, {"role": "user", "content": [{"type": "text", "text": ""},
                                                                        {"type": "text", "text": "two"}]}]})
    assert body["contents"] == [{"role": "user", "parts": [{"text": "."}]},
                                {"role": "model", "parts": [{"text": "Welcome!"}, {"text": "Ask me."}]},
                                {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]}]
    assert any("prepended" in n for n in notes)


def test_generation_config(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "user", "content": "x"}], "temperature": 1.7, "top_p": 0.9,
                           "top_k": 20, "max_completion_tokens": 256, "stop": ["a", "b", "c", "d", "e", "f"],
                           "seed": 42, "n": 2, "presence_penalty": 0.3, "frequency_penalty": 0.1,
                           "logprobs": True, "top_logprobs": 2, "user": "u1", "logit_bias": {"1": 1}})
    assert body["generationConfig"] == {"temperature": 1.7, "topP": 0.9, "topK": 20, "seed": 42,
                                        "candidateCount": 2, "maxOutputTokens": 256,
                                        "stopSequences": ["a", "b", "c", "d", "e"], "presencePenalty": 0.3,
                                        "frequencyPenalty": 0.1}
    joined = " | ".join(notes)
    assert "first 5 stop sequences" in joined
    assert "dropped logit_bias, logprobs, top_logprobs, user" in joined
    assert "presence_penalty mapped to presencePenalty" in joined


def test_output_cap_clamped_and_sampling_capability(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("gemini", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 100_000,
                                "temperature": 0.5}, max_output_tokens=8192)
    wire = build_request(call)
    assert wire.body["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 8192}
    call = dataclasses.replace(call, target=TargetConfig(provider="p", model="m", capabilities=frozenset({"chat"})))
    assert "temperature" not in build_request(call).body.get("generationConfig", {})


@pytest.mark.parametrize(("fmt", "expected"), [
    ({"type": "json_object"}, {"responseMimeType": "application/json"}),
    ({"type": "json_schema", "json_schema": {"name": "c", "schema": {"type": "object", "properties": {
        "name": {"type": "string"}}}}},
     {"responseMimeType": "application/json",
      "responseSchema": {"type": "OBJECT", "properties": {"name": {"type": "STRING"}}}}),
    ({"type": "text"}, None),
])
def test_response_format(body_of: Callable[..., Any], fmt: dict[str, Any], expected: dict[str, Any] | None) -> None:
    body, _ = body_of({"messages": [{"role": "user", "content": "json please"}], "response_format": fmt})
    assert body.get("generationConfig") == expected


def test_tools_and_tool_choice(body_of: Callable[..., Any]) -> None:
    base = {"messages": [{"role": "user", "content": "Weather?"}], "tools": [TOOL]}
    body, notes = body_of(base)             # an older model: the subset, the lost keyword noted
    assert body["tools"] == [{"functionDeclarations": [{"name": "get_weather", "description": "Weather for a city",
                                                        "parameters": {"type": "OBJECT", "properties": {
                                                            "city": {"type": "STRING"}}, "required": ["city"]}}]}]
    assert any("tool get_weather: dropped additionalProperties" in n for n in notes)
    body, notes = body_of(base, model="gemini-2.5-flash")    # takes JSON Schema: sent whole, nothing lost
    assert body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == TOOL["function"]["parameters"]
    assert not any("dropped" in n for n in notes) and "toolConfig" not in body
    for choice, mode in {"auto": "AUTO", "none": "NONE", "required": "ANY"}.items():
        assert body_of({**base, "tool_choice": choice})[0]["toolConfig"] == {"functionCallingConfig": {"mode": mode}}
    named = body_of({**base, "tool_choice": {"type": "function", "function": {"name": "get_weather"}}})[0]
    assert named["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    _, notes = body_of({**base, "parallel_tool_calls": False})
    assert any("parallel_tool_calls" in n for n in notes)


HISTORY = [
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": '{"tz":"CET"}'}}]},
    {"role": "tool", "tool_call_id": "call_b", "content": "12:00"},
    {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
    {"role": "user", "content": "Thanks!"}]


def test_tool_calls_and_results_by_id(body_of: Callable[..., Any]) -> None:
    body, _ = body_of({"messages": HISTORY, "tools": [TOOL]}, model="gemini-2.5-flash")
    assert roles(body) == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                                            {"functionCall": {"name": "get_time", "args": {"tz": "CET"}}}]
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"name": "get_time", "response": {"result": "12:00"}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "18C"}}},
        {"text": "Thanks!"}]


def test_gemini_3_replays_signatures(body_of: Callable[..., Any]) -> None:
    history = json.loads(json.dumps(HISTORY))
    history[1]["tool_calls"][1]["extra_content"] = {"google": {"thought_signature": "c2lnLWI="}}
    body, notes = body_of({"messages": history}, model="gemini-3-pro-preview")
    calls = body["contents"][1]["parts"]
    assert calls[0]["thoughtSignature"] == DUMMY_THOUGHT_SIGNATURE
    assert calls[1]["thoughtSignature"] == "c2lnLWI="
    assert any("dummy thought signature" in n for n in notes)
    assert [p["functionCall"]["id"] for p in calls] == ["call_a", "call_b"]      # Gemini 3 pairs by id too
    assert [p["functionResponse"]["id"] for p in body["contents"][2]["parts"][:2]] == ["call_b", "call_a"]
    body, _ = body_of({"messages": history}, model="gemini-2.5-flash")
    assert "thoughtSignature" not in body["contents"][1]["parts"][0]
    assert "id" not in body["contents"][1]["parts"][0]["functionCall"]


def test_media_parts(body_of: Callable[..., Any]) -> None:
    body, notes = body_of({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png?x=1"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]})
    parts = body["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}
    assert parts[2] == {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png?x=1"}}
    assert parts[3] == {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}
    assert any("fileData" in n for n in notes)


# --- responses ------------------------------------------------------------------------------------------

def gemini_response(candidates: list[dict[str, Any]] | None, usage: dict[str, Any] | None = None,
                    **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"modelVersion": "gemini-2.5-flash", "responseId": "mcCaaL2wGfaEz7IPmcO3kAo", **extra}
    if candidates is not None:
        body["candidates"] = candidates
    if usage is not None:
        body["usageMetadata"] = usage
    types.GenerateContentResponse.model_validate(body)
    return body


USAGE = {"promptTokenCount": 120, "candidatesTokenCount": 30, "thoughtsTokenCount": 50,
         "cachedContentTokenCount": 64, "totalTokenCount": 200}


def test_parse_text_usage(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("gemini", {"messages": [{"role": "user", "content": "Hi"}]}, model="gemini-2.5-flash")
    body = gemini_response([{"content": {"role": "model", "parts": [
        {"text": "thinking...", "thought": True}, {"text": "Hello"}, {"text": " there"}]},
        "finishReason": "STOP", "index": 0}], USAGE)
    out = parse_response(body, call)
    ChatCompletion.model_validate(out.model_dump())
    assert out.text() == "Hello there" and out.choices[0].finish_reason == "stop"
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.total_tokens) == (120, 80, 200)
    details = out.usage.completion_tokens_details
    assert details is not None and details.reasoning_tokens == 50
    assert out.usage.prompt_tokens_details is not None and out.usage.prompt_tokens_details.cached_tokens == 64
    assert out.model == "gemini-2.5-flash"


def test_stop_with_function_call_is_tool_calls(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("gemini", {"messages": [{"role": "user", "content": "Weather?"}], "tools": [TOOL]})
    part = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2ln"}
    body = gemini_response([{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}], USAGE)
    out = parse_response(body, call)
    msg = out.choices[0].message
    assert out.choices[0].finish_reason == "tool_calls" and msg.content is None and msg.tool_calls
    tc = msg.tool_calls[0]
    assert tc.id == synthetic_call_id("get_weather", {"city": "Paris"}, 0, 0) and tc.id.startswith("call_")
    assert json.loads(tc.function.arguments) == {"city": "Paris"}
    assert tc.model_extra == {"extra_content": {"google": {"thought_signature": "c2ln"}}}
    assert parse_response(body, call).choices[0].message.tool_calls == msg.tool_calls      # deterministic


@pytest.mark.parametrize(("reason", "finish"), [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
    ("LANGUAGE", "content_filter"), ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"),
    ("SPII", "content_filter"), ("IMAGE_SAFETY", "content_filter"), ("OTHER", "content_filter"),
    ("FINISH_REASON_UNSPECIFIED", "stop")])
def test_finish_reasons(make_call: Callable[..., ProviderCall], reason: str, finish: str) -> None:
    call = make_call("gemini", {"messages": [{"role": "user", "content": "x"}]})
    body = gemini_response([{"content": {"role": "model", "parts": [{"text": "t"}]}, "finishReason": reason}])
    assert parse_response(body, call).choices[0].finish_reason == finish


def test_finish_without_content_gives_one_empty_choice(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("gemini", {"messages": [{"role": "user", "content": "x"}]})
    out = parse_response(gemini_response([{"finishReason": "MAX_TOKENS"}], USAGE), call)
    assert len(out.choices) == 1 and out.choices[0].message.content == "" and out.choices[0].finish_reason == "length"
    blocked = gemini_response(None, {"promptTokenCount": 9, "totalTokenCount": 9},
                              promptFeedback={"blockReason": "SAFETY"})
    out = parse_response(blocked, call)
    assert [(c.message.content, c.finish_reason) for c in out.choices] == [("", "content_filter")]


def test_several_candidates(make_call: Callable[..., ProviderCall]) -> None:
    call = make_call("gemini", {"messages": [{"role": "user", "content": "x"}], "n": 2})
    body = gemini_response([{"content": {"role": "model", "parts": [{"text": t}]}, "finishReason": "STOP", "index": i}
                            for i, t in enumerate("ab")])
    out = parse_response(body, call)
    assert [(c.index, c.message.content) for c in out.choices] == [(0, "a"), (1, "b")]
    assert out.usage.estimated


# --- complete() ---------------------------------------------------------------------------------------------

async def test_complete_makes_exactly_one_call_and_maps_500(make_call: Callable[..., ProviderCall]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"error": {"code": 500, "message": "An internal error has occurred.",
                                                   "status": "INTERNAL"}})

    async with make_http_client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderError) as e:
            await GeminiAdapter().complete(client, make_call("gemini", {"messages": [
                {"role": "user", "content": "x"}]}))
    assert len(calls) == 1 and e.value.error_class is ErrorClass.SERVER_ERROR and e.value.status == 500


@pytest.mark.parametrize(("status", "body", "error_class", "retry_after"), [
    (429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
            {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}]}}, ErrorClass.RATE_LIMITED, 47.0),
    (400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                     "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                                "reason": "API_KEY_INVALID"}]}}, ErrorClass.AUTH, None),
    (200, {"candidates": [{"content": {"parts": []}, "finishReason": "SAFETY"}]}, ErrorClass.CONTENT_FILTER, None),
    (200, {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}, ErrorClass.CONTENT_FILTER, None),
    (200, {"candidates": [{"content": {"parts": []}, "finishReason": "MALFORMED_FUNCTION_CALL"}]},
     ErrorClass.MALFORMED_RESPONSE, None),
])
async def test_complete_error_mapping(make_call: Callable[..., ProviderCall], status: int, body: Any,
                                      error_class: ErrorClass, retry_after: float | None) -> None:
    async with make_http_client(transport=httpx.MockTransport(lambda r: httpx.Response(status, json=body))) as c:
        with pytest.raises(ProviderError) as e:
            await GeminiAdapter().complete(c, make_call("gemini", {"messages": [{"role": "user", "content": "x"}]}))
    assert e.value.error_class is error_class and e.value.retry_after_s == retry_after


async def test_complete_success(make_call: Callable[..., ProviderCall]) -> None:
    body = gemini_response([{"content": {"role": "model", "parts": [{"text": "Bonjour"}]}, "finishReason": "STOP"}],
                           USAGE)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    async with make_http_client(transport=httpx.MockTransport(handler)) as client:
        result = await GeminiAdapter().complete(client, make_call("gemini", {"messages": [
            {"role": "user", "content": "Say hi in French"}]}, model="gemini-2.5-flash"))
    assert result.response.text() == "Bonjour" and result.upstream_id == "mcCaaL2wGfaEz7IPmcO3kAo"
    assert seen[0].url.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert seen[0].headers["x-goog-api-key"] == "sk-test"
