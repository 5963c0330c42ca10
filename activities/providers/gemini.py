"""Gemini Developer API adapter (``POST {base_url}/v1beta/models/{model}:generateContent``; §1.3, §4).

Request translation lives in ``gemini_translate.py``. Headers: ``x-goog-api-key`` (omitted when the
provider needs no key) and the provider's own headers.

Response mapping (§4.2): each candidate becomes one choice. Text parts (thought parts excluded) are
joined into ``content``; ``functionCall`` parts become ``tool_calls`` with the call's own ``id`` (Gemini 3) or an id
``call_<hash>`` synthesised deterministically from the call's name, arguments and position, and with the part's
``thoughtSignature`` kept in ``extra_content.google.thought_signature`` for replay. ``finishReason``:
``STOP`` -> ``stop`` (``tool_calls`` when the candidate called a function), ``MAX_TOKENS`` ->
``length``, safety/recitation/language/blocklist/SPII/image/``OTHER`` -> ``content_filter``. A
candidate with a finish reason but no content gives one choice with empty content (never
``choices: []``); a blocked prompt (no candidates, ``promptFeedback.blockReason``) gives one empty
``content_filter`` choice. Usage: ``completion = candidates + thoughts``, ``reasoning_tokens =
thoughts``, ``cached_tokens = cachedContentTokenCount``; estimated (chars/4) when absent.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import httpx

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.common import HttpAdapter, ResponseMeta, WireRequest, base_headers, json_text
from activities.providers.gemini_translate import build_body
from activities.providers.image_fetch import inline_remote_images
from core.chat import (
    ChatResponse,
    Choice,
    CompletionTokensDetails,
    FinishReason,
    PromptTokensDetails,
    ResponseMessage,
    ToolCall,
    Usage,
)
from core.errors import ErrorClass
from core.usage import estimated_usage

_FILTERED = frozenset("SAFETY RECITATION LANGUAGE BLOCKLIST PROHIBITED_CONTENT SPII IMAGE_SAFETY "
                      "IMAGE_PROHIBITED_CONTENT IMAGE_RECITATION IMAGE_OTHER OTHER".split())


def build_request(call: ProviderCall) -> WireRequest:
    """Pure: ``(url, headers, body, notes)`` for one ``generateContent`` call."""
    body, notes = build_body(call)
    model = quote(call.target.model.removeprefix("models/"), safe="-._~")
    headers = base_headers(call)
    if call.api_key is not None:
        headers["x-goog-api-key"] = call.api_key
    return WireRequest(f"{call.base_url()}/v1beta/models/{model}:generateContent", headers, body, notes)


def parse_response(data: dict[str, Any], call: ProviderCall, meta: ResponseMeta | None = None) -> ChatResponse:
    """Pure: a ``GenerateContentResponse`` -> OpenAI ``chat.completion``."""
    meta = meta or ResponseMeta.derived(data)
    candidates = [c for c in data.get("candidates") or [] if isinstance(c, dict)]
    if candidates:
        choices = [_choice(c, i) for i, c in enumerate(candidates)]
    elif (data.get("promptFeedback") or {}).get("blockReason"):
        choices = [Choice(index=0, message=ResponseMessage(content=""), finish_reason="content_filter")]
    else:
        raise ProviderError(ErrorClass.MALFORMED_RESPONSE, "response has no candidates", status=200)
    produced = "".join((c.message.content or "") + "".join(t.function.arguments for t in c.message.tool_calls or [])
                       for c in choices)
    return ChatResponse(id=meta.id, created=meta.created, model=call.target.model, choices=choices,
                        usage=_usage(data.get("usageMetadata"), call, produced))


def synthetic_call_id(name: str, args: Any, candidate: int, part: int) -> str:
    """``call_<24 hex>``: deterministic from the call's content and position (§4.2 "Content")."""
    digest = hashlib.sha256(json_text([name, args, candidate, part]).encode()).hexdigest()
    return f"call_{digest[:24]}"


def _choice(candidate: dict[str, Any], position: int) -> Choice:
    index = candidate.get("index") if isinstance(candidate.get("index"), int) else position
    texts: list[str] = []
    calls: list[ToolCall] = []
    for j, part in enumerate((candidate.get("content") or {}).get("parts") or []):
        if "functionCall" in part:
            calls.append(_tool_call(part, index, j))
        elif isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(part["text"])
    content = "".join(texts)
    message = ResponseMessage(content=None if calls and not content else content, tool_calls=calls or None)
    return Choice(index=index, message=message, finish_reason=finish_reason(candidate.get("finishReason"), calls))


def finish_reason(reason: Any, calls: Any) -> FinishReason:
    """Gemini ``finishReason`` -> OpenAI (§4.2): ``STOP`` with function calls (``calls`` truthy: the
    candidate's tool calls, or a flag) is ``tool_calls``."""
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    return "tool_calls" if calls else "stop"


def tool_call_id(fc: dict[str, Any], candidate: int, position: int) -> str:
    """The id a ``functionCall`` gets: its own ``id`` (Gemini 3 sends one), else the synthesised
    :func:`synthetic_call_id`."""
    own = fc.get("id")
    if isinstance(own, str) and own:
        return own
    return synthetic_call_id(str(fc.get("name", "")), fc.get("args") or {}, candidate, position)


def _tool_call(part: dict[str, Any], candidate: int, position: int) -> ToolCall:
    fc = part["functionCall"] or {}
    name, args = str(fc.get("name", "")), fc.get("args") or {}
    extra = {"extra_content": {"google": {"thought_signature": part["thoughtSignature"]}}} \
        if part.get("thoughtSignature") else {}
    return ToolCall(id=tool_call_id(fc, candidate, position),
                    function={"name": name, "arguments": json_text(args)}, **extra)


def _usage(raw: Any, call: ProviderCall, produced: str) -> Usage:
    if not isinstance(raw, dict) or "promptTokenCount" not in raw:
        return estimated_usage(call.request, produced)
    prompt = int(raw.get("promptTokenCount") or 0)
    thoughts = int(raw.get("thoughtsTokenCount") or 0)
    completion = int(raw.get("candidatesTokenCount") or 0) + thoughts
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=int(raw.get("totalTokenCount") or prompt + completion),
                 prompt_tokens_details=PromptTokensDetails(cached_tokens=int(raw.get("cachedContentTokenCount") or 0)),
                 completion_tokens_details=CompletionTokensDetails(reasoning_tokens=thoughts))


class GeminiAdapter(HttpAdapter):
    """The ``gemini`` wire protocol."""

    protocol = "gemini"

    async def prepare(self, client: httpx.AsyncClient, call: ProviderCall) -> tuple[ProviderCall, list[str]]:
        """Download remote images and send them inline (``image_fetch.py``)."""
        return await inline_remote_images(client, call, self.protocol)

    def build_request(self, call: ProviderCall) -> WireRequest:
        """See :func:`build_request`."""
        return build_request(call)

    def parse_response(self, data: Any, call: ProviderCall, meta: ResponseMeta | None = None) -> ChatResponse:
        """See :func:`parse_response`."""
        return parse_response(data, call, meta)
