"""OpenAI Chat Completions adapter (``POST {base_url}/chat/completions``; providers.md §1.1, §1.4, §1.5).

Serves OpenAI and every OpenAI-compatible server: Mistral, vLLM, Ollama, llama.cpp. The request is
the caller's own body with ``model`` set to the target's model; fields this project does not name
still reach the server (``ChatRequest`` keeps unknown fields). Changes: ``stream`` /
``stream_options`` are not sent (this adapter is non-streaming; noted); ``metadata`` (our routing
data) is sent only with ``store: true``; temperature/top_p/top_k are dropped, with a note, for
targets without the ``sampling`` capability (reasoning models reject them, §0 #2); Gemini
``extra_content`` on tool calls is kept only for Google's OpenAI-compatible endpoint;
Mistral-hosted targets get Mistral's dialect (``mistral_dialect.py``); base64 images are checked and
labelled with the media type of their bytes (``images.py``); JSON mode without the word "json" in
any message gets a system message asking for JSON (OpenAI rejects it otherwise, §0 #18); OpenAI
itself gets at most 4 stop sequences (§0 #17). Auth: ``Authorization:
Bearer <key>`` (omitted without a key).

Response: choices, messages and tool calls are copied into :class:`core.chat.ChatResponse`
(object arguments are serialised to a JSON string); ``finish_reason`` ``model_length`` -> ``length``,
unknown values -> ``stop``; usage with its cached/reasoning details, or an estimate (chars/4,
``estimated=True``) when the server sent none. Silent truncation (Ollama, §5 row 13): a self-hosted
server that reports far fewer prompt tokens than we sent and stopped on ``length`` is raised as
``ContextLengthExceeded``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.common import (
    SAMPLING_PARAMS,
    HttpAdapter,
    ResponseMeta,
    WireRequest,
    base_headers,
    json_text,
    parse_data_url,
    sampling_allowed,
)
from activities.providers.images import checked_image
from activities.providers.mistral_dialect import is_mistral_host, to_mistral
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
from core.thinking import BLOCKS, THINKING
from core.tokens import estimate_prompt_tokens
from core.usage import estimated_usage

P = "openai"
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                                    "content_filter": "content_filter", "function_call": "function_call",
                                    "model_length": "length"}
_HOSTED = ("api.openai.com", "openai.azure.com", "mistral.ai", "googleapis.com")
#: Silent-truncation check: prompt estimate at least this many tokens, reported below this share.
TRUNCATION_MIN_ESTIMATE = 1024
TRUNCATION_RATIO = 0.5
JSON_INSTRUCTION = "Respond in JSON."
MAX_OPENAI_STOP = 4


def build_request(call: ProviderCall) -> WireRequest:
    """Pure: ``(url, headers, body, notes)`` for one Chat Completions call."""
    notes: list[str] = []
    body = _body(call, notes)
    if is_mistral_host(call.base_url()):
        body = to_mistral(body, notes)
    headers = base_headers(call)
    if call.api_key is not None:
        headers["authorization"] = f"Bearer {call.api_key}"
    return WireRequest(f"{call.base_url()}/chat/completions", headers, body, notes)


def parse_response(data: dict[str, Any], call: ProviderCall, meta: ResponseMeta | None = None) -> ChatResponse:
    """Pure: a ``chat.completion`` body from any OpenAI-compatible server -> :class:`ChatResponse`."""
    meta = meta or ResponseMeta.derived(data)
    choices = [_choice(c, i) for i, c in enumerate(data.get("choices") or []) if isinstance(c, dict)]
    if not choices:
        raise ProviderError(ErrorClass.MALFORMED_RESPONSE, "response has no choices", status=200)
    fingerprint = data.get("system_fingerprint")
    return ChatResponse(id=meta.id, created=meta.created, model=call.target.model, choices=choices,
                        usage=_usage(data.get("usage"), call, choices),
                        system_fingerprint=fingerprint if isinstance(fingerprint, str) else None)


def _body(call: ProviderCall, notes: list[str]) -> dict[str, Any]:
    body = call.request.model_dump(mode="json", exclude_none=True)
    body["model"] = call.target.model
    if body.pop("stream", None):
        notes.append(f"{P}: stream=true served without streaming by this adapter")
    body.pop("stream_options", None)
    if body.pop(THINKING, None) is not None:
        notes.append(f"{P}: thinking dropped (an Anthropic feature; core/thinking.py)")
    for msg in body["messages"]:
        msg.pop(BLOCKS, None)
    if not sampling_allowed(call, notes, P):
        for name in SAMPLING_PARAMS:
            body.pop(name, None)
    if "metadata" in body and not body.get("store"):
        body.pop("metadata")
    if "googleapis.com" not in call.base_url():
        for msg in body["messages"]:
            for tc in msg.get("tool_calls") or []:
                tc.pop("extra_content", None)
    _check_images(body["messages"], notes)
    _json_word(body, notes)
    _stop_limit(body, call, notes)
    _output_cap(body, call, notes)
    return body


def _output_cap(body: dict[str, Any], call: ProviderCall, notes: list[str]) -> None:
    """``max_tokens`` / ``max_completion_tokens`` above the target's ``max_output_tokens`` are
    clamped with a note, as the Anthropic and Gemini adapters do: OpenAI answers a larger cap with a
    400 ("max_tokens is too large"), which would stop a request its primary could have served."""
    limit = call.target.max_output_tokens
    for name in ("max_tokens", "max_completion_tokens"):
        cap = body.get(name)
        if isinstance(cap, int) and cap > limit:
            body[name] = limit
            notes.append(f"{P}: {name} {cap} clamped to the target's maximum {limit}")


def _stop_limit(body: dict[str, Any], call: ProviderCall, notes: list[str]) -> None:
    """OpenAI itself takes at most 4 stop sequences (providers.md §0 #17); a longer list, valid for
    the caller's primary elsewhere (Gemini takes 5), is cut to the first 4 with a note."""
    stop = body.get("stop")
    host = (urlparse(call.base_url()).hostname or "").lower()
    if isinstance(stop, list) and len(stop) > MAX_OPENAI_STOP and host.endswith(("api.openai.com", "openai.azure.com")):
        body["stop"] = stop[:MAX_OPENAI_STOP]
        notes.append(f"{P}: only the first {MAX_OPENAI_STOP} of {len(stop)} stop sequences sent (OpenAI's limit)")


def _json_word(body: dict[str, Any], notes: list[str]) -> None:
    """OpenAI rejects ``response_format: json_object`` unless a message contains the word "json"
    (providers.md §0 #18); a request translated from another dialect often lacks it, so a system
    message asking for JSON is put first."""
    if (body.get("response_format") or {}).get("type") != "json_object":
        return
    texts = [m.get("content") for m in body["messages"]]
    flat = " ".join(t if isinstance(t, str) else " ".join(str(p.get("text", "")) for p in t if isinstance(p, dict))
                    for t in texts if t)
    if "json" not in flat.lower():
        body["messages"].insert(0, {"role": "system", "content": JSON_INSTRUCTION})
        notes.append(f"{P}: no message mentions JSON, which json_object mode requires; added a system message "
                     f"{JSON_INSTRUCTION!r}")


def _check_images(messages: list[dict[str, Any]], notes: list[str]) -> None:
    """Base64 images get the media type of their bytes (``images.py``); http(s) URLs are fetched by
    the server itself; any other URL is a local 400."""
    for msg in messages:
        for part in msg.get("content") if isinstance(msg.get("content"), list) else []:
            image = part.get("image_url") if part.get("type") == "image_url" else None
            url = str(image.get("url", "")) if isinstance(image, dict) else ""
            if not image or url.startswith(("https://", "http://")):
                continue
            data = parse_data_url(url)
            if data is None:
                raise ProviderError(ErrorClass.LOCAL_INVALID,
                                    "image_url.url must be an http(s) URL or a base64 data URL")
            img = checked_image(data[0], data[1], P)
            if img.note:
                notes.append(img.note)
                image["url"] = f"data:{img.mime};base64,{img.b64}"


def _choice(raw: dict[str, Any], position: int) -> Choice:
    msg = raw.get("message") if isinstance(raw.get("message"), dict) else {}
    calls = [_tool_call(tc) for tc in msg.get("tool_calls") or [] if isinstance(tc, dict)]
    content = msg.get("content")
    if isinstance(content, list):                     # some servers answer with content parts
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    refusal = msg.get("refusal") if isinstance(msg.get("refusal"), str) else None
    message = ResponseMessage(content=content if isinstance(content, str) else None, refusal=refusal,
                              tool_calls=calls or None)
    finish = _FINISH.get(str(raw.get("finish_reason")), "tool_calls" if calls else "stop")
    logprobs = raw.get("logprobs") if isinstance(raw.get("logprobs"), dict) else None
    index = raw.get("index") if isinstance(raw.get("index"), int) else position
    return Choice(index=index, message=message, finish_reason=finish, logprobs=logprobs)


def _tool_call(raw: dict[str, Any]) -> ToolCall:
    fn = raw.get("function") if isinstance(raw.get("function"), dict) else {}
    args = fn.get("arguments")
    arguments = args if isinstance(args, str) else json_text(args) if args is not None else ""
    extra = {"extra_content": raw["extra_content"]} if isinstance(raw.get("extra_content"), dict) else {}
    return ToolCall(id=str(raw.get("id") or ""), function={"name": str(fn.get("name", "")), "arguments": arguments},
                    **extra)


def _usage(raw: Any, call: ProviderCall, choices: list[Choice]) -> Usage:
    if not isinstance(raw, dict) or not (raw.get("prompt_tokens") or raw.get("completion_tokens")):
        produced = "".join((c.message.content or "") + "".join(t.function.arguments for t in c.message.tool_calls or [])
                           for c in choices)
        return estimated_usage(call.request, produced)
    prompt, completion = int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0)
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens")
    reasoning = (raw.get("completion_tokens_details") or {}).get("reasoning_tokens")
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=int(raw.get("total_tokens") or prompt + completion),
                 prompt_tokens_details=PromptTokensDetails(cached_tokens=int(cached)) if cached else None,
                 completion_tokens_details=CompletionTokensDetails(reasoning_tokens=int(reasoning))
                 if reasoning else None)


def check_truncation(response: ChatResponse, call: ProviderCall) -> None:
    """Raise ``ContextLengthExceeded`` for an Ollama-like silent truncation (§0 #15, §5 row 13): a
    self-hosted target stopped on ``length`` after reporting under half the prompt tokens we sent."""
    host = (urlparse(call.base_url()).hostname or "").lower()
    usage = response.usage
    if usage.estimated or any(host.endswith(h) for h in _HOSTED) or not usage.prompt_tokens:
        return
    expected = estimate_prompt_tokens(call.request)
    cut = all(c.finish_reason == "length" for c in response.choices)
    if cut and expected >= TRUNCATION_MIN_ESTIMATE and usage.prompt_tokens < TRUNCATION_RATIO * expected:
        raise ProviderError(ErrorClass.CONTEXT_LENGTH, f"prompt silently truncated: server counted "
                            f"{usage.prompt_tokens} prompt tokens, about {expected} were sent", status=200)


class OpenAIAdapter(HttpAdapter):
    """The ``openai`` wire protocol (OpenAI, Mistral, vLLM, Ollama, llama.cpp)."""

    protocol = "openai"

    def build_request(self, call: ProviderCall) -> WireRequest:
        """See :func:`build_request`."""
        return build_request(call)

    def parse_response(self, data: Any, call: ProviderCall, meta: ResponseMeta | None = None) -> ChatResponse:
        """See :func:`parse_response`, then the silent-truncation check."""
        response = parse_response(data, call, meta)
        check_truncation(response, call)
        return response

    def translated(self, call: ProviderCall) -> bool | None:
        """Mistral-hosted requests are rewritten into Mistral's dialect, so 400s may be ours (§5 row 15)."""
        return True if is_mistral_host(call.base_url()) else None
