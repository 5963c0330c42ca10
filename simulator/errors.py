"""Each provider's standard error bodies and response headers (providers.md §3.1, §3.2, §3.5, §7).

Bodies:

- OpenAI: ``{"error": {"message", "type", "param", "code"}}``; 429 from the rate limiter has type
  ``requests``, code ``rate_limit_exceeded`` and the "Please try again in 1.574s" text.
- Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id"}`` with the type for the
  status (``overloaded_error`` for 529, ``rate_limit_error`` for 429, ...).
- Gemini: ``{"error": {"code", "message", "status"}}`` with the google.rpc status name; 429 carries
  ``QuotaFailure`` (a ``PerMinute`` quota id), ``RetryInfo.retryDelay`` and ``Help`` details.

Headers:

- OpenAI: ``x-request-id``, ``openai-processing-ms``, ``x-ratelimit-{limit,remaining,reset}-{requests,
  tokens}`` on every answer (resets as Go durations, ``6m0s``, ``120ms``); ``retry-after`` (seconds)
  on 429 and 503.
- Anthropic: ``request-id``; ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
  {limit,remaining,reset}`` (resets RFC 3339); ``retry-after`` integer seconds on 429, 503, 529.
- Gemini: no rate-limit headers (the 429 body says when to retry).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from simulator.ratelimit import RateDecision

TOKENS_PER_MINUTE = 2_000_000
RETRY_HEADER_STATUSES = frozenset({429, 503, 529})

_OPENAI: dict[int, tuple[str, str | int | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key",
          "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found",
          "The model `{model}` does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for {model} in organization org-simulator on requests per min (RPM): "
          "Limit {limit}, Used {limit}, Requested 1. Please try again in {retry}. "
          "Visit https://platform.openai.com/account/rate-limits to learn more."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("cf_bad_gateway", 502, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
    504: ("cf_gateway_timeout", 504, "Gateway timeout."),
}
_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "model: {model}"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error",
          "This request would exceed the rate limit for your organization of {limit} requests per minute. "
          "For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response "
          "headers for current usage. Please reduce the prompt length or the maximum tokens requested, "
          "or try again later."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}
_GEMINI: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "models/{model} is not found for API version v1beta, or is not supported for "
                       "generateContent. Call ListModels to see the list of available models and their "
                       "supported methods."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED",
          "You exceeded your current quota, please check your plan and billing details. For more "
          "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"
          "* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_requests, "
          "limit: {limit}, model: {model}\nPlease retry in {retry}."),
    499: ("CANCELLED", "The operation was cancelled."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
                      "https://developers.generativeai.google/guide/troubleshooting"),
    501: ("UNIMPLEMENTED", "Method not implemented."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


def reason_phrase(status: int) -> str:
    """The HTTP reason phrase (``HTTP 530`` for codes without one)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def go_duration(seconds: float) -> str:
    """A Go-style duration as OpenAI writes rate-limit resets: ``120ms``, ``1.574s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}s"


def rfc3339_in(seconds: float) -> str:
    """An RFC 3339 UTC timestamp ``seconds`` from now (Anthropic rate-limit resets)."""
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _fill(template: str, model: str, rate: RateDecision | None) -> str:
    limit = rate.limit if rate else 0
    retry = rate.reset_s if rate else 1.0
    return template.format(model=model, limit=limit, retry=go_duration(retry))


def openai_error(status: int, model: str, rate: RateDecision | None = None, message: str | None = None) -> dict:
    """OpenAI's error body for ``status``."""
    kind, code, text = _OPENAI.get(status, ("server_error" if status >= 500 else "invalid_request_error",
                                             None, reason_phrase(status)))
    return {"error": {"message": message or _fill(text, model, rate), "type": kind, "param": None,
                      "code": code}}


def anthropic_error(status: int, model: str, request_id: str, rate: RateDecision | None = None,
                    message: str | None = None) -> dict:
    """Anthropic's error body for ``status``."""
    kind, text = _ANTHROPIC.get(status, ("api_error" if status >= 500 else "invalid_request_error",
                                         reason_phrase(status)))
    return {"type": "error", "error": {"type": kind, "message": message or _fill(text, model, rate)},
            "request_id": request_id}


def gemini_error(status: int, model: str, rate: RateDecision | None = None, message: str | None = None) -> dict:
    """Gemini's error body for ``status`` (429 with QuotaFailure, RetryInfo and Help details)."""
    name, text = _GEMINI.get(status, ("UNKNOWN", reason_phrase(status)))
    error: dict = {"code": status, "message": message or _fill(text, model, rate), "status": name}
    if status == 429:
        retry = rate.reset_s if rate else 1.0
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": str(rate.limit if rate else 0)}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{math.ceil(retry)}s"},
        ]
    return {"error": error}


def openai_headers(request_id: str, rate: RateDecision, status: int = 200) -> dict[str, str]:
    """OpenAI response headers: request id, processing time, ``x-ratelimit-*``, ``retry-after``."""
    out = {
        "x-request-id": request_id,
        "openai-version": "2020-10-01",
        "openai-processing-ms": "1",
        "x-ratelimit-limit-requests": str(rate.limit),
        "x-ratelimit-remaining-requests": str(rate.remaining),
        "x-ratelimit-reset-requests": go_duration(rate.reset_s),
        "x-ratelimit-limit-tokens": str(TOKENS_PER_MINUTE),
        "x-ratelimit-remaining-tokens": str(TOKENS_PER_MINUTE * rate.remaining // max(rate.limit, 1)),
        "x-ratelimit-reset-tokens": go_duration(rate.reset_s / max(rate.limit, 1)),
    }
    if status in (429, 503):
        out["retry-after"] = str(math.ceil(rate.reset_s))
    return out


def anthropic_headers(request_id: str, rate: RateDecision, status: int = 200) -> dict[str, str]:
    """Anthropic response headers: ``request-id``, ``anthropic-ratelimit-*``, ``retry-after``."""
    reset = rfc3339_in(rate.reset_s)
    tokens_left = TOKENS_PER_MINUTE * rate.remaining // max(rate.limit, 1)
    out = {"request-id": request_id,
           "anthropic-ratelimit-requests-limit": str(rate.limit),
           "anthropic-ratelimit-requests-remaining": str(rate.remaining),
           "anthropic-ratelimit-requests-reset": reset}
    for kind in ("tokens", "input-tokens", "output-tokens"):
        out[f"anthropic-ratelimit-{kind}-limit"] = str(TOKENS_PER_MINUTE)
        out[f"anthropic-ratelimit-{kind}-remaining"] = str(tokens_left)
        out[f"anthropic-ratelimit-{kind}-reset"] = reset
    if status in RETRY_HEADER_STATUSES:
        out["retry-after"] = str(max(1, math.ceil(rate.reset_s)))
    if status == 529:
        out["x-should-retry"] = "true"
    return out


def gemini_headers(request_id: str, rate: RateDecision, status: int = 200) -> dict[str, str]:
    """Gemini response headers (no rate-limit headers exist; ``server-timing`` as Google sends)."""
    return {"server-timing": "gfet4t7; dur=1", "x-goog-request-id": request_id}
