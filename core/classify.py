"""Provider failure -> :class:`core.errors.ErrorClass`, decided once (``shared/providers.md`` §5).

API: ``classify_http(protocol, status, headers, body, *, now, translated=None) -> Classified`` and
``classify_success_body(protocol, body, *, headers=None, now=0.0) -> Classified | None``. ``body`` is
parsed JSON (dict, or Gemini-through-Vertex's one-element list), raw text/bytes (HTML, ``{status:
"come back later"}``) or ``None``. Connection-level classes (ConnectError, Timeout, StreamCut) are
decided by the adapters from httpx exceptions, never here. An error with no HTTP status (a 200 error
body, an SSE ``data: {"error":...}`` line, Anthropic ``event: error``) is classified by passing
``status=None``: the embedded code / Gemini status / Anthropic ``error.type`` stands in (§2.2, §5 row 4).

Decision order (first match wins; §5 row numbers in brackets): (1) context length in any §3.3
wording -> ContextLengthExceeded [12], minus LiteLLM's false positives (``string_above_max_length``,
the ``user`` string too long); (2) signals that outrank the status: ``overloaded_error`` /
``UNAVAILABLE`` -> Overloaded [8], ``billing_error`` / ``insufficient_quota`` / "credit balance is
too low" -> QuotaExhausted [9], ``API_KEY_INVALID`` / ``invalid_api_key`` -> AuthError [16]; (3) the
status: 401 Auth, 402 Quota, 403 Permission, 404 ModelNotFound, 408/409/5xx ServerError, 413
PayloadTooLarge, 503 Overloaded (ServerError while self-hosted "loading" [11]), 529 Overloaded,
429 -> RequestTooLargeForTarget [7] (also: a single prompt above the per-minute token limit the
headers state) / QuotaExhausted (PerDay quotaId; "check your plan and billing"
with no quota details) / Overloaded ("capacity exceeded") / RateLimited [6], other 4xx ->
PermissionDenied (``FAILED_PRECONDITION``), ModelNotFound, ContentFiltered [20],
TranslationRejected [15] (only when ``translated``) or InvalidRequest [14].

Error bodies are read by :func:`core.retry_hints.extract_error` (every §3.1 shape -> ``ErrorInfo``).
``translated``: our adapter rewrote the caller's request for this target (default: protocol is not
``openai``; the OpenAI adapter passes ``True`` for Mistral). Pure: no clock reads, no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ErrorClass
from core.retry_hints import RPC_STATUS, ErrorInfo, extract_error, normalise_headers, retry_after_s, should_retry


@dataclass(frozen=True)
class Classified:
    """One classified failure. ``message``: the provider's error text (clipped; never model output);
    ``code``: its code or type (``rate_limit_exceeded``, ``RESOURCE_EXHAUSTED``); ``retry_after_s``:
    capped reset hint in seconds (``core/retry_hints.py``); ``should_retry``: ``x-should-retry``;
    ``status``: the status classified (for an embedded error, its code)."""

    error_class: ErrorClass
    message: str
    code: str | None = None
    retry_after_s: float | None = None
    should_retry: bool | None = None
    status: int | None = None


# --- wording tables: lower-case substrings / regexes (providers.md §3.3, §3.4, §4.1, §5 row 15) ---

_CONTEXT_PHRASES = (
    "maximum context length", "exceed context limit", "model's maximum context limit",
    "is longer than the model's context length", "input tokens exceed the configured limit",
    "exceeds the available context size", "context size has been exceeded",
    "exceeds the maximum number of tokens allowed", "prompt is too long", "exceeds the context window")
_CONTEXT_REGEXES = tuple(re.compile(r) for r in (
    r"current length is \d+ while limit is \d+", r"maximum input length is \d+ tokens",
    r"prompt token count of \d+ exceeds the limit of \d+", r"input token count \(?\d+\)? exceeds"))
_CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
_NOT_CONTEXT_CODES = frozenset({"string_above_max_length"})
_USER_TOO_LONG = re.compile(r"invalid '?user'?.*string too long|'user'.*too long")

_FILTER_CODES = frozenset({"content_filter", "content_policy_violation", "invalid_prompt",
                           "responsibleaipolicyviolation"})
_FILTER_PHRASES = ("flagged as potentially violating", "rejected as a result of the safety system",
                   "content management policy", "violates our usage policy")
_TRANSLATION_PHRASES = (
    "tool_use", "tool_result", "tool use", "tool result", "alternate between user and model",
    "thought_signature", "thought signature", "extra_forbidden", "extra inputs are not permitted",
    "tool call id", "tool_call_id", "function_call.id", "unexpected role", "function response parts",
    "function response turn", "function call turn", "roles must alternate", "must start with a user",
    'first message must use the "user" role', "multiple candidates is not enabled")
_TRANSLATION_CODES = frozenset({"extra_forbidden", "invalid_request_message_order", "invalid_function_call",
                                "3230", "3280"})
_QUOTA_PHRASES = ("credit balance is too low", "insufficient_quota", "billing_hard_limit")
_PLAN_BILLING = "check your plan and billing"
_TOO_LARGE = re.compile(r"limit (\d+) requested (\d+)")


def classify_http(protocol: str, status: int | None, headers: Mapping[str, str] | None, body: Any, *,
                  now: float, translated: bool | None = None, prompt_tokens: int | None = None) -> Classified:
    """Classify one failed HTTP answer (non-2xx), or an error object embedded in a 2xx.

    ``protocol``: the target's wire protocol (``openai`` | ``anthropic`` | ``gemini``). ``status``:
    HTTP status; 2xx/``None`` means "an error object without a usable status", in which case the
    embedded ``code``, Gemini ``status`` or Anthropic ``error.type`` supplies it. ``headers``:
    response headers. ``now``: unix seconds (for date-valued reset hints). ``prompt_tokens``: the
    request's estimated prompt size; a rate limit whose per-minute token limit (``anthropic-ratelimit-
    input-tokens-limit``, ``anthropic-ratelimit-tokens-limit``, ``x-ratelimit-limit-tokens``) is
    smaller can never pass on this target: RequestTooLargeForTarget (§5 row 7).
    """
    info = extract_error(body)
    eff = status if status is not None and status >= 300 else status_from_info(info)
    is_translated = protocol != "openai" if translated is None else translated
    error_class = _decide(info, eff, is_translated)
    if error_class is ErrorClass.RATE_LIMITED and prompt_tokens and _over_token_limit(headers, prompt_tokens):
        error_class = ErrorClass.TOO_LARGE_FOR_TARGET
    return Classified(error_class=error_class, message=info.message, code=info.code_name(),
                      retry_after_s=retry_after_s(headers, body, now=now),
                      should_retry=should_retry(headers), status=eff)


def classify_success_body(protocol: str, body: Any, *, headers: Mapping[str, str] | None = None,
                          now: float = 0.0, translated: bool | None = None) -> Classified | None:
    """Check a 2xx body before mapping it (§5 rows 21-22); ``None`` when it is a usable answer.

    An error object in a 200 (``{error: {code: 429, ...}}``, with or without empty ``choices``) is
    classified like that error, its embedded code standing in for the status. No usable
    choices/content/candidates, Gemini ``MALFORMED_FUNCTION_CALL``-like finishes, non-JSON tool
    arguments -> MalformedResponse; Mistral ``finish_reason: error`` -> ServerError (§4.2). A filter
    or refusal finish with *nothing else in it* (OpenAI ``content_filter`` + null content, Anthropic
    ``refusal`` without text, Gemini ``SAFETY``-like finish without parts or ``blockReason`` without
    candidates) -> ContentFiltered, for the adapter to raise; with content it is a valid answer.
    """
    if extract_error(body).is_error_object:
        return classify_http(protocol, None, headers, body, now=now, translated=translated)
    verdict = _check_success(protocol, body)
    if verdict is None:
        return None
    error_class, message = verdict
    return Classified(error_class=error_class, message=message, status=200)


def is_context_length(info: ErrorInfo) -> bool:
    """True when the error means "prompt (+ requested output) is over the context window" (§3.3)."""
    codes = info.codes()
    if codes & _NOT_CONTEXT_CODES:
        return False
    text = info.text()
    if _USER_TOO_LONG.search(text):
        return False
    if codes & _CONTEXT_CODES:
        return True
    return any(p in text for p in _CONTEXT_PHRASES) or any(r.search(text) for r in _CONTEXT_REGEXES)


def _decide(info: ErrorInfo, status: int, translated: bool) -> ErrorClass:
    if status in (400, 413, 422, 500, 200) or info.codes() & _CONTEXT_CODES:
        if is_context_length(info):
            return ErrorClass.CONTEXT_LENGTH
    early = _overriding_signal(info)
    if early is not None:
        return early
    return _by_status(info, status, translated)


def _overriding_signal(info: ErrorInfo) -> ErrorClass | None:
    codes = info.codes()
    text = info.text()
    if codes & {"overloaded_error", "unavailable"}:
        return ErrorClass.OVERLOADED
    if codes & {"billing_error", "insufficient_quota"} or any(p in text for p in _QUOTA_PHRASES):
        return ErrorClass.QUOTA_EXHAUSTED
    if codes & {"api_key_invalid", "invalid_api_key", "authentication_error"} or "api key not valid" in text:
        return ErrorClass.AUTH
    return None


_SIMPLE_STATUS = {401: ErrorClass.AUTH, 402: ErrorClass.QUOTA_EXHAUSTED, 403: ErrorClass.PERMISSION,
                  404: ErrorClass.MODEL_NOT_FOUND, 408: ErrorClass.SERVER_ERROR, 409: ErrorClass.SERVER_ERROR,
                  413: ErrorClass.PAYLOAD_TOO_LARGE, 529: ErrorClass.OVERLOADED}


def _by_status(info: ErrorInfo, status: int, translated: bool) -> ErrorClass:
    if status in _SIMPLE_STATUS:
        return _SIMPLE_STATUS[status]
    if status == 429:
        return _classify_429(info)
    if status == 503:
        loading = "loading" in info.text() and "overload" not in info.text()
        return ErrorClass.SERVER_ERROR if loading else ErrorClass.OVERLOADED
    if status >= 500:
        return ErrorClass.SERVER_ERROR
    if 400 <= status < 500:
        return _classify_bad_request(info, translated)
    return ErrorClass.MALFORMED_RESPONSE      # 1xx/3xx: not an answer we can use


def _classify_429(info: ErrorInfo) -> ErrorClass:
    text = info.text()
    m = _TOO_LARGE.search(text.replace(",", ""))
    if "request too large" in text or (m and int(m.group(2)) > int(m.group(1))):
        return ErrorClass.TOO_LARGE_FOR_TARGET
    quota_ids = " ".join(info.quota_ids).lower()
    if "perday" in quota_ids or "per day" in text:
        return ErrorClass.QUOTA_EXHAUSTED
    if "capacity exceeded" in text:
        return ErrorClass.OVERLOADED
    if _PLAN_BILLING in text and not info.quota_ids and not info.retry_delay_s is not None:
        return ErrorClass.QUOTA_EXHAUSTED
    return ErrorClass.RATE_LIMITED


_TOKEN_LIMITS = ("anthropic-ratelimit-input-tokens-limit", "anthropic-ratelimit-tokens-limit",
                 "x-ratelimit-limit-tokens")


def _over_token_limit(headers: Mapping[str, str] | None, prompt_tokens: int) -> bool:
    h = normalise_headers(headers)
    limits = [int(h[n]) for n in _TOKEN_LIMITS if h.get(n, "").strip().isdigit()]
    return any(0 < limit < prompt_tokens for limit in limits)


def _classify_bad_request(info: ErrorInfo, translated: bool) -> ErrorClass:
    codes = info.codes()
    text = info.text()
    if "failed_precondition" in codes or "permission_denied" in codes:
        return ErrorClass.PERMISSION
    if codes & {"model_not_found", "not_found_error", "not_found"}:
        return ErrorClass.MODEL_NOT_FOUND
    if codes & _FILTER_CODES or any(p in text for p in _FILTER_PHRASES):
        return ErrorClass.CONTENT_FILTER
    if translated and (codes & _TRANSLATION_CODES or any(p in text for p in _TRANSLATION_PHRASES)):
        return ErrorClass.TRANSLATION_REJECTED
    return ErrorClass.INVALID_REQUEST


# --- statuses for errors that came without one (200 bodies, stream events) -----------------------

_TYPE_STATUS = {"invalid_request_error": 400, "exceed_context_size_error": 400, "authentication_error": 401,
                "billing_error": 402, "permission_error": 403, "not_found_error": 404,
                "model_not_found": 404, "request_too_large": 413, "rate_limit_error": 429,
                "rate_limit_exceeded": 429, "insufficient_quota": 429, "tokens": 429, "requests": 429,
                "api_error": 500, "server_error": 500, "timeout_error": 504, "overloaded_error": 529,
                "unavailable_error": 503}

def status_from_info(info: ErrorInfo) -> int:
    """An HTTP status for an error that came without one (200 body, stream event): the embedded
    numeric code, else Gemini's rpc status, else the error type, else 500."""
    if info.code and info.code.isdigit() and 100 <= int(info.code) <= 599:
        return int(info.code)
    if info.status_name in RPC_STATUS:
        return RPC_STATUS[info.status_name]
    for name in (info.type, info.code):
        if name and name.lower() in _TYPE_STATUS:
            return _TYPE_STATUS[name.lower()]
    return 500


# --- 2xx bodies: usable or not (§4.2, §5 rows 21-22) ----------------------------------------------

_GEMINI_FILTERED = frozenset("SAFETY RECITATION LANGUAGE BLOCKLIST PROHIBITED_CONTENT SPII IMAGE_SAFETY "
                             "IMAGE_PROHIBITED_CONTENT IMAGE_RECITATION IMAGE_OTHER OTHER".split())
_GEMINI_TOOL_FAILURES = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"})
_Verdict = tuple[ErrorClass, str] | None


def _check_success(protocol: str, body: Any) -> _Verdict:
    if not isinstance(body, dict):
        return ErrorClass.MALFORMED_RESPONSE, "response body is not a JSON object"
    checks = {"anthropic": _check_anthropic, "gemini": _check_gemini}
    return checks.get(protocol, _check_openai)(body)


def _check_openai(body: dict[str, Any]) -> _Verdict:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        return ErrorClass.MALFORMED_RESPONSE, "response has no choices"
    messages = [c.get("message") if isinstance(c, dict) else None for c in choices]
    if not all(isinstance(m, dict) for m in messages):
        return ErrorClass.MALFORMED_RESPONSE, "a choice has no message"
    reasons = [c.get("finish_reason") for c in choices]
    if "error" in reasons:
        return ErrorClass.SERVER_ERROR, "provider ended generation with finish_reason=error"
    if any(not _json_args(m.get("tool_calls")) for m in messages):
        return ErrorClass.MALFORMED_RESPONSE, "tool call arguments are not valid JSON"
    if all(r == "content_filter" and not m.get("content") and not m.get("tool_calls")
           for r, m in zip(reasons, messages, strict=True)):
        return ErrorClass.CONTENT_FILTER, "output withheld by the provider's content filter (content_filter)"
    return None


def _json_args(tool_calls: Any) -> bool:
    args = [((c.get("function") or {}).get("arguments") if isinstance(c, dict) else None)
            for c in (tool_calls if isinstance(tool_calls, list) else [])]
    return all(_is_json(a) for a in args if isinstance(a, str) and a.strip())


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _check_anthropic(body: dict[str, Any]) -> _Verdict:
    content = body.get("content")
    if body.get("type", "message") != "message" or not isinstance(content, list):
        return ErrorClass.MALFORMED_RESPONSE, "response has no content list"
    useful = [b for b in content if isinstance(b, dict)
              and (b.get("type") == "tool_use" or (b.get("type") == "text" and b.get("text")))]
    if body.get("stop_reason") == "refusal" and not useful:
        category = (body.get("stop_details") or {}).get("category") or "unspecified"
        return ErrorClass.CONTENT_FILTER, f"model refused (stop_reason=refusal, category={category})"
    return None


def _check_gemini(body: dict[str, Any]) -> _Verdict:
    candidates = body.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        block = (body.get("promptFeedback") or {}).get("blockReason")
        if block:
            return ErrorClass.CONTENT_FILTER, f"prompt blocked (blockReason={block})"
        return ErrorClass.MALFORMED_RESPONSE, "response has no candidates"
    cands = [c for c in candidates if isinstance(c, dict)]
    reasons = [c.get("finishReason") for c in cands]
    bad = next((r for r in reasons if r in _GEMINI_TOOL_FAILURES), None)
    if bad:
        return ErrorClass.MALFORMED_RESPONSE, f"model produced an unusable tool call (finishReason={bad})"
    parts = [(c.get("content") or {}).get("parts") for c in cands]
    if not cands or all(not p and not r for p, r in zip(parts, reasons, strict=True)):
        return ErrorClass.MALFORMED_RESPONSE, "candidates have neither content nor a finish reason"
    if all(r in _GEMINI_FILTERED and not p for p, r in zip(parts, reasons, strict=True)):
        return ErrorClass.CONTENT_FILTER, f"output blocked (finishReason={reasons[0]})"
    return None
