"""Conformance against formats nobody here wrote (issue 3, item 8): a request using every translated
feature is built by each adapter, checked against the official SDK's own request types (streaming
and not), sent to the simulator and answered; our OpenAI-shaped answer validates as the ``openai``
SDK's ``ChatCompletion``. The simulator's error answers parse with each SDK into the exception class
whose meaning our classifier gives the same answer."""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming, MessageCreateParamsStreaming
from google import genai
from google.genai import types
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)

from activities.providers.base import ProviderError
from activities.providers.http import make_http_client
from activities.providers.registry import adapter_for
from activities.providers.streaming import stream_complete, stream_wire
from core.errors import ErrorClass
from simulator.server import RunningSimulator
from tests.simulator.conftest import ANTHROPIC, GEMINI, OPENAI, Control
from tests.unit.conftest import assert_fits, build_call
from tests.unit.test_translate_gemini import check_body

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"],
                                                                          "enum": ["c", "f", None]}},
    "required": ["city", "unit"], "additionalProperties": False}}}
KITCHEN_SINK: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are a travel assistant."},
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "text", "text": "Where was this taken, and the weather there?"},
                                     {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}}]},
        {"role": "assistant", "content": "Looks like Lisbon. Checking.", "tool_calls": [
            {"id": "call_a1", "type": "function", "function": {"name": "get_weather",
                                                              "arguments": '{"city": "Lisbon", "unit": "c"}'}},
            {"id": "call.b2", "type": "function", "function": {"name": "get_weather",
                                                              "arguments": '{"city": "Porto", "unit": null}'}}]},
        {"role": "tool", "tool_call_id": "call.b2", "content": "19C"},
        {"role": "tool", "tool_call_id": "call_a1", "content": [{"type": "text", "text": "22C"}]},
        {"role": "system", "content": "Mention both cities."},
        {"role": "user", "content": "Which is warmer?"},
        {"role": "user", "content": "   "}],
    "tools": [WEATHER], "tool_choice": "auto", "parallel_tool_calls": True, "temperature": 0.3, "top_p": 0.9,
    "stop": ["END"], "max_tokens": 300, "seed": 5, "user": "user-42",
}
WHERE = {"openai": (OPENAI, "/r/us-east/v1", "gpt-4o"), "anthropic": (ANTHROPIC, "/r/us-east", "claude-sonnet-4"),
         "gemini": (GEMINI, "/r/us-central", "gemini-2.0-flash")}


def check(protocol: str, body: dict[str, Any], streaming: bool) -> None:
    """``body`` fits the SDK's own request type (temperature/top_p/top_k aside for Anthropic: SDK 2.x
    dropped them from the type because the newest models reject them, providers.md §0 #2)."""
    if protocol == "openai":
        assert_fits(body, CompletionCreateParamsStreaming if streaming else CompletionCreateParamsNonStreaming)
    elif protocol == "anthropic":
        plain = {k: v for k, v in body.items() if k not in ("temperature", "top_p", "top_k")}
        assert_fits(plain, MessageCreateParamsStreaming if streaming else MessageCreateParamsNonStreaming)
    else:
        check_body(body)


@pytest.mark.parametrize("protocol", sorted(WHERE))
@pytest.mark.parametrize("fmt", [None, {"type": "json_object"}, {"type": "json_schema", "json_schema": {
    "name": "answer", "schema": {"type": "object", "properties": {"warmer": {"type": "string"}},
                                 "required": ["warmer"], "additionalProperties": False}}}],
    ids=["text", "json_object", "json_schema"])
async def test_every_feature_fits_the_sdk_types_and_the_answer_is_a_chat_completion(
        sim: RunningSimulator, protocol: str, fmt: dict[str, Any] | None) -> None:
    _, path, model = WHERE[protocol]
    request = {**KITCHEN_SINK, **({"response_format": fmt} if fmt else {})}
    call = build_call(protocol, request, base_url=sim.base_url + path, model=model)
    adapter = adapter_for(protocol)
    check(protocol, adapter.build_request(call).body, streaming=False)
    check(protocol, stream_wire(adapter, call).body, streaming=True)
    async with make_http_client() as client:
        plain = await adapter.complete(client, call)
        streamed = await stream_complete(adapter, client, call)
    for res in (plain, streamed):
        ChatCompletion.model_validate(res.response.model_dump(exclude_none=True))
        if fmt:                                               # JSON content, or a call of one of the tools
            message = res.response.choices[0].message
            assert message.tool_calls or isinstance(json.loads(message.content or ""), dict)
    if protocol != "openai":                                  # translated: every mapping is in the notes
        assert any("hoisted into the system prompt" in n for n in plain.notes)


@pytest.mark.parametrize(("protocol", "status", "sdk_error", "ours"), [
    ("openai", 429, openai.RateLimitError, ErrorClass.RATE_LIMITED),
    ("openai", 404, openai.NotFoundError, ErrorClass.MODEL_NOT_FOUND),
    ("anthropic", 529, anthropic.APIStatusError, ErrorClass.OVERLOADED),
    ("anthropic", 400, anthropic.BadRequestError, ErrorClass.TRANSLATION_REJECTED),
    ("gemini", 429, genai.errors.ClientError, ErrorClass.RATE_LIMITED),
    ("gemini", 503, genai.errors.ServerError, ErrorClass.OVERLOADED),
])
async def test_simulator_errors_parse_with_the_sdks_as_we_classify_them(
        sim: RunningSimulator, control: Control, protocol: str, status: int, sdk_error: type, ours: ErrorClass) -> None:
    target, path, model = WHERE[protocol]
    body = None
    if status == 400:   # Anthropic's own tool-ordering error: our translation's fault, so we fail over
        body = {"type": "error", "error": {"type": "invalid_request_error", "message": "messages.1: `tool_use` ids "
                                           "were found without `tool_result` blocks immediately after: toolu_01"}}
    await control.apply(target, error_rate=1.0, errors=[{"status": status, **({"body": body} if body else {})}])
    with pytest.raises(sdk_error) as raised:
        await _sdk_call(sim, protocol, model)
    assert getattr(raised.value, "status_code", getattr(raised.value, "code", None)) == status
    call = build_call(protocol, {"messages": [{"role": "user", "content": "hi"}]}, base_url=sim.base_url + path,
                      model=model)
    async with make_http_client() as client:
        with pytest.raises(ProviderError) as e:
            await adapter_for(protocol).complete(client, call)
    assert e.value.error_class is ours and e.value.status == status


async def _sdk_call(sim: RunningSimulator, protocol: str, model: str) -> Any:
    messages = [{"role": "user", "content": "hi"}]
    if protocol == "openai":
        async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0) as c:
            return await c.chat.completions.create(model=model, messages=messages)
    if protocol == "anthropic":
        async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0) as c:
            return await c.messages.create(model=model, max_tokens=50, messages=messages)
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=sim.base_url))
    return await client.aio.models.generate_content(model=model, contents="hi")
