"""Anthropic Messages adapter (``POST {base_url}/v1/messages``; providers.md §1.2, §4).

Request translation lives in ``anthropic_translate.py``. Headers: ``x-api-key`` (omitted when the
provider needs no key), ``anthropic-version: 2023-06-01``, the provider's own headers.

Response mapping (§4.2): text blocks are concatenated into ``message.content``; ``tool_use`` blocks
become ``tool_calls`` (``arguments`` = the input serialised as JSON), except the ``json_tool_call``
tool of JSON mode, whose input *is* the content; thinking blocks are kept on the message
(``core/thinking.py``). ``stop_reason``:
``end_turn``/``stop_sequence``/``pause_turn`` -> ``stop`` (pause flagged in the notes), ``max_tokens``
and ``model_context_window_exceeded`` -> ``length``, ``tool_use`` -> ``tool_calls``, ``refusal`` ->
``content_filter``. Usage: ``prompt = input + cache_creation + cache_read``, ``cached_tokens =
cache_read``; estimated (chars/4) when absent.
"""

from __future__ import annotations

from typing import Any

from activities.providers.anthropic_translate import JSON_TOOL, build_body, json_tool_schema
from activities.providers.base import ProviderCall
from activities.providers.common import HttpAdapter, ResponseMeta, WireRequest, base_headers, json_text
from core.chat import ChatResponse, Choice, FinishReason, PromptTokensDetails, ResponseMessage, ToolCall, Usage
from core.thinking import BLOCK_TYPES, BLOCKS
from core.usage import estimated_usage

ANTHROPIC_VERSION = "2023-06-01"

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
    "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}


def build_request(call: ProviderCall) -> WireRequest:
    """Pure: ``(url, headers, body, notes)`` for one Messages call."""
    body, notes = build_body(call)
    headers = {"anthropic-version": ANTHROPIC_VERSION, **base_headers(call)}
    if call.api_key is not None:
        headers["x-api-key"] = call.api_key
    return WireRequest(f"{call.base_url()}/v1/messages", headers, body, notes)


def parse_response(data: dict[str, Any], call: ProviderCall, meta: ResponseMeta | None = None) -> ChatResponse:
    """Pure: an Anthropic ``message`` object -> OpenAI ``chat.completion`` (one choice)."""
    meta = meta or ResponseMeta.derived(data)
    texts: list[str] = []
    calls: list[ToolCall] = []
    json_content: str | None = None
    thinking: list[dict[str, Any]] = []
    _, wrapped = json_tool_schema(call.request)
    for block in data.get("content") or []:
        kind = block.get("type")
        if kind in BLOCK_TYPES:
            thinking.append(block)
        elif kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use" and block.get("name") == JSON_TOOL and call.request.wants_json():
            value = block.get("input") or {}
            json_content = json_text(value.get("value") if wrapped and isinstance(value, dict) else value)
        elif kind == "tool_use":
            calls.append(ToolCall(id=str(block.get("id", "")), function={
                "name": str(block.get("name", "")), "arguments": json_text(block.get("input") or {})}))
    content = json_content if json_content is not None else "".join(texts)
    finish = STOP_REASONS.get(str(data.get("stop_reason")), "stop")
    if finish == "tool_calls" and not calls:
        finish = "stop"                       # only the JSON-mode tool was called
    message = ResponseMessage(content=None if calls and not content else content, tool_calls=calls or None,
                              **({BLOCKS: thinking} if thinking else {}))
    return ChatResponse(id=meta.id, created=meta.created, model=call.target.model,
                        choices=[Choice(index=0, message=message, finish_reason=finish)],
                        usage=_usage(data.get("usage"), call, content, calls))


def _usage(raw: Any, call: ProviderCall, content: str, calls: list[ToolCall]) -> Usage:
    if not isinstance(raw, dict) or "input_tokens" not in raw:
        return estimated_usage(call.request, content + "".join(c.function.arguments for c in calls))
    cache_write = int(raw.get("cache_creation_input_tokens") or 0)
    cache_read = int(raw.get("cache_read_input_tokens") or 0)
    prompt = int(raw.get("input_tokens") or 0) + cache_write + cache_read
    completion = int(raw.get("output_tokens") or 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                 prompt_tokens_details=PromptTokensDetails(cached_tokens=cache_read))


class AnthropicAdapter(HttpAdapter):
    """The ``anthropic`` wire protocol."""

    protocol = "anthropic"

    def build_request(self, call: ProviderCall) -> WireRequest:
        """See :func:`build_request`."""
        return build_request(call)

    def parse_response(self, data: Any, call: ProviderCall, meta: ResponseMeta | None = None) -> ChatResponse:
        """See :func:`parse_response`."""
        return parse_response(data, call, meta)

    def response_notes(self, data: Any) -> list[str]:
        """``pause_turn`` is returned as ``stop`` but flagged: the caller must resend to continue."""
        if isinstance(data, dict) and data.get("stop_reason") == "pause_turn":
            return ["anthropic: stop_reason pause_turn (server tool turn paused; resend to continue)"]
        return []
