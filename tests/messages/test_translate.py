"""The Messages <-> internal translation on its own (pure functions): what each Anthropic field
becomes in the ``ChatRequest`` the workflow runs, and the ``message`` built from a ``ChatResponse``."""

from __future__ import annotations

import json

import pytest

from core.chat import ChatResponse
from worker.gateway.errors import GatewayError
from worker.gateway.messages_body import parse_messages
from worker.gateway.messages_in import to_chat
from worker.gateway.messages_out import message_body

PNG = "iVBORw0KGgo="


def translate(**fields):  # type: ignore[no-untyped-def]
    body = {"model": "claude-3-5-sonnet", "max_tokens": 50, **fields}
    return to_chat(parse_messages(json.dumps(body).encode()))


def test_system_blocks_images_stop_sequences_and_sampling() -> None:
    chat, notes = translate(
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be kind."}],
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}]}],
        stop_sequences=["END"], temperature=0.2, top_p=0.9, top_k=40, metadata={"user_id": "u-1"},
        thinking={"type": "enabled", "budget_tokens": 1024}, service_tier="auto")
    assert chat.messages[0].role == "system" and chat.messages[0].content == "Be brief.\nBe kind."
    parts = chat.messages[1].content
    assert isinstance(parts, list)
    assert parts[1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}
    assert chat.stop == ["END"] and chat.max_tokens == 50 and chat.temperature == 0.2 and chat.top_p == 0.9
    assert chat.model_extra == {"top_k": 40, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert chat.user == "u-1"  # thinking rides along for targets that think (core/thinking.py)
    assert notes == ["messages: cache_control not sent", "messages: unknown field 'service_tier' dropped"]


def test_tool_use_and_results_become_tool_calls_and_tool_messages() -> None:
    chat, notes = translate(
        tools=[{"name": "lookup_order", "input_schema": {"type": "object"}}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "Order NW-1?"},
                  {"role": "assistant", "content": [
                      {"type": "thinking", "thinking": "look it up", "signature": "sig"},
                      {"type": "text", "text": "Checking."},
                      {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {"id": "NW-1"}}]},
                  {"role": "user", "content": [
                      {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": "not found"},
                      {"type": "text", "text": "Try again."}]}])
    assert chat.tools == [{"type": "function", "function": {"name": "lookup_order",
                                                            "parameters": {"type": "object"}}}]
    assert chat.tool_choice == "required" and chat.model_extra == {"parallel_tool_calls": False}
    user, assistant, tool, again = chat.messages
    assert assistant.content == "Checking." and assistant.tool_calls is not None
    assert assistant.tool_calls[0].id == "toolu_1" and json.loads(assistant.tool_calls[0].function.arguments) == {
        "id": "NW-1"}
    assert tool.role == "tool" and tool.tool_call_id == "toolu_1" and tool.content == "Error: not found"
    assert again.role == "user" and again.text() == "Try again."
    assert assistant.model_extra["thinking_blocks"] == [  # kept, signature included, for a thinking target
        {"type": "thinking", "thinking": "look it up", "signature": "sig"}]
    assert notes == []


@pytest.mark.parametrize(("fields", "path"), [
    ({"messages": [{"role": "assistant", "content": [{"type": "server_tool_use"}]}]}, "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": "document", "source": {
        "type": "base64", "media_type": "text/plain", "data": "aGk="}}]}]}, "messages[0].content[0].source.media_type"),
    ({"messages": [{"role": "user", "content": "hi"}], "system": [{"type": "image"}]}, "system[0]"),
    ({"messages": [{"role": "user", "content": []}]}, "messages[0].content"),
])
def test_untranslatable_blocks_are_400_with_their_path(fields, path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GatewayError) as caught:
        translate(**fields)
    assert caught.value.status == 400 and caught.value.param == path


def test_message_out_maps_stop_reason_tool_use_and_usage() -> None:
    resp = ChatResponse.model_validate({
        "id": "chatcmpl-1", "created": 1, "model": "gpt-4o",
        "choices": [{"message": {"content": "Let me look.", "tool_calls": [
            {"id": "call_1", "function": {"name": "lookup_order", "arguments": '{"id": "NW-1"}'}}]},
            "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37,
                  "prompt_tokens_details": {"cached_tokens": 10}}})
    body = message_body(resp, "msg_1")
    assert body["content"] == [{"type": "text", "text": "Let me look."},
                               {"type": "tool_use", "id": "call_1", "name": "lookup_order", "input": {"id": "NW-1"}}]
    assert body["stop_reason"] == "tool_use" and body["stop_sequence"] is None and body["id"] == "msg_1"
    assert body["usage"] == {"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": 10}
