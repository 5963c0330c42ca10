"""core/classify.py: one test per providers.md §5 row and per wording (bodies from §1-§3)."""

from __future__ import annotations

from typing import Any

import pytest

from core.classify import classify_http, classify_success_body, is_context_length
from core.errors import ErrorClass as E
from core.retry_hints import extract_error

NOW = 1_787_000_000.0


def cls(protocol: str, status: int | None, body: Any, headers: dict[str, str] | None = None,
        **kw: Any) -> E:
    return classify_http(protocol, status, headers or {}, body, now=NOW, **kw).error_class


def openai_err(message: str, type_: str | None = "invalid_request_error", code: Any = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def anthropic_err(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}


def gemini_err(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": details or []}}


RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}


def quota_failure(quota_id: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": quota_id, "quotaValue": "20"}]}


GEMINI_QUOTA_MSG = ("You exceeded your current quota, please check your plan and billing details. For more "
                    "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.")


# --- one row per signal: (protocol, status, body, expected class), ids name the §5 row ------------------

C = pytest.param
ROWS = [
    *(C("openai", st, None, E.SERVER_ERROR, id=f"r5-10-{st}") for st in (408, 409, 500, 502, 504, 530)),
    C("openai", 500, openai_err("The server had an error processing your request.", "server_error"),
      E.SERVER_ERROR, id="r10-openai-server_error"),
    C("anthropic", 500, anthropic_err("api_error", "Internal server error"), E.SERVER_ERROR, id="r10-api_error"),
    C("anthropic", 504, anthropic_err("timeout_error", "Request timeout"), E.SERVER_ERROR, id="r10-timeout_error"),
    C("gemini", 500, gemini_err(500, "INTERNAL", "An internal error has occurred."), E.SERVER_ERROR, id="r10-INTERNAL"),
    C("gemini", 504, gemini_err(504, "DEADLINE_EXCEEDED", "Deadline expired."), E.SERVER_ERROR, id="r10-DEADLINE"),
    C("openai", 502, {"error": {"code": 502, "message": "Bad gateway.", "param": None, "type": "cf_bad_gateway"}},
      E.SERVER_ERROR, id="r10-cf_bad_gateway"),
    C("openai", 503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
      E.SERVER_ERROR, id="r11-self-hosted-loading"),
    C("anthropic", 529, anthropic_err("overloaded_error", "Overloaded"), E.OVERLOADED, id="r8-529"),
    C("anthropic", 500, anthropic_err("overloaded_error", "Overloaded"), E.OVERLOADED, id="r8-overloaded-on-500"),
    C("gemini", 503, gemini_err(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
      E.OVERLOADED, id="r8-UNAVAILABLE"),
    C("openai", 503, openai_err("The engine is currently overloaded, please try again later", "server_error"),
      E.OVERLOADED, id="r8-openai-503"),
    C("openai", 503, {"error": {"code": 503, "message": "Service Unavailable.", "param": None,
                                "type": "cf_service_unavailable"}}, E.OVERLOADED, id="r8-cf-503"),
    C("openai", 503, "Slow Down", E.OVERLOADED, id="r8-slow-down"),
    C("openai", 503, openai_err("The server is overloaded or not ready yet.", "server_error"), E.OVERLOADED,
      id="r8-openai-not-ready"),
    C("openai", 429, {"object": "error", "message": "Service tier capacity exceeded for this model.",
                      "type": "service_tier_capacity_exceeded", "param": None, "code": "3505"},
      E.OVERLOADED, id="r8-mistral-capacity"),
    C("anthropic", 429, anthropic_err("rate_limit_error", "Number of request tokens has exceeded your per-minute "
                                      "rate limit"), E.RATE_LIMITED, id="r6-anthropic"),
    C("gemini", 429, gemini_err(429, "RESOURCE_EXHAUSTED", GEMINI_QUOTA_MSG, [
        quota_failure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"), RETRY_INFO]),
      E.RATE_LIMITED, id="r6-gemini-PerMinute"),
    C("gemini", 429, gemini_err(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                                [RETRY_INFO]), E.RATE_LIMITED, id="r6-gemini-RetryInfo-only"),
    C("openai", 429, {"object": "error", "message": "Requests rate limit exceeded", "type": "rate_limited",
                      "param": None, "code": "1300"}, E.RATE_LIMITED, id="r6-mistral-1300"),
    C("openai", 429, {"message": "Requests rate limit exceeded"}, E.RATE_LIMITED, id="r6-mistral-old"),
    C("openai", 429, {"status": "come back later"}, E.RATE_LIMITED, id="r6-non-json-ish"),
    C("openai", 429, None, E.RATE_LIMITED, id="r6-no-body"),
    C("openai", 429, openai_err(
        "Request too large for gpt-4 in organization org-abc on tokens per min (TPM): Limit 30000, Requested 31538. "
        "The input or output tokens must be reduced in order to run successfully.", "tokens", "rate_limit_exceeded"),
      E.TOO_LARGE_FOR_TARGET, id="r7-request-too-large"),
    C("openai", 429, openai_err("Rate limit on tokens per min (TPM): Limit 10,000, Requested 11,652.", "tokens",
                                "rate_limit_exceeded"), E.TOO_LARGE_FOR_TARGET, id="r7-limit-requested"),
    C("openai", 429, openai_err("You exceeded your current quota, please check your plan and billing details.",
                                "insufficient_quota", "insufficient_quota"), E.QUOTA_EXHAUSTED, id="r9-openai"),
    C("gemini", 429, gemini_err(429, "RESOURCE_EXHAUSTED", GEMINI_QUOTA_MSG + "\nPlease retry in 36.4s.", [
        quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier"), RETRY_INFO]),
      E.QUOTA_EXHAUSTED, id="r9-gemini-PerDay"),
    C("gemini", 429, gemini_err(429, "RESOURCE_EXHAUSTED", GEMINI_QUOTA_MSG, [
        {"@type": "type.googleapis.com/google.rpc.Help", "links": []}]), E.QUOTA_EXHAUSTED, id="r9-plan-billing"),
    C("gemini", 429, [gemini_err(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Gemini 2.5 Pro "
                                 "Requests'", [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                "reason": "RATE_LIMIT_EXCEEDED",
                                                "metadata": {"quota_limit": "Gemini25ProRequestsPerDay"}}])],
      E.QUOTA_EXHAUSTED, id="r9-vertex-quota_limit"),
    C("anthropic", 402, anthropic_err("billing_error", "Your account has a billing issue."), E.QUOTA_EXHAUSTED,
      id="r9-billing_error"),
    C("anthropic", 400, anthropic_err("invalid_request_error", "Your credit balance is too low to access the "
                                      "Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."),
      E.QUOTA_EXHAUSTED, id="r9-credit-balance"),
    C("openai", 401, openai_err("Incorrect API key provided: sk-abc***.", code="invalid_api_key"), E.AUTH,
      id="r16-openai"),
    C("anthropic", 401, anthropic_err("authentication_error", "invalid x-api-key"), E.AUTH, id="r16-anthropic"),
    C("gemini", 400, gemini_err(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com"}]), E.AUTH, id="r16-gemini-API_KEY_INVALID"),
    C("gemini", 401, gemini_err(401, "UNAUTHENTICATED", "Request had invalid authentication."), E.AUTH,
      id="r16-vertex"),
    C("openai", 403, openai_err("Country, region, or territory not supported", "request_forbidden",
                                "unsupported_country_region_territory"), E.PERMISSION, id="r17-openai-region"),
    C("anthropic", 403, anthropic_err("permission_error", "Your API key does not have permission to use the "
                                      "specified resource."), E.PERMISSION, id="r17-anthropic"),
    C("gemini", 403, gemini_err(403, "PERMISSION_DENIED", "The caller does not have permission"), E.PERMISSION,
      id="r17-gemini"),
    C("gemini", 400, gemini_err(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
      E.PERMISSION, id="r17-FAILED_PRECONDITION-region"),
    C("gemini", 400, gemini_err(400, "FAILED_PRECONDITION", "Gemini API free tier is not available in your country. "
                                "Please enable billing on your project."), E.PERMISSION, id="r17-billing"),
    C("openai", 404, openai_err("The model `gpt-5-turbo` does not exist or you do not have access to it.",
                                code="model_not_found"), E.MODEL_NOT_FOUND, id="r18-openai"),
    C("anthropic", 404, anthropic_err("not_found_error", "model: claude-3-5-sonnet-20240620"), E.MODEL_NOT_FOUND,
      id="r18-anthropic"),
    C("gemini", 404, gemini_err(404, "NOT_FOUND", "models/gemini-1.5-flash is not found for API version v1beta."),
      E.MODEL_NOT_FOUND, id="r18-gemini"),
    C("openai", 404, {"error": {"message": "model \"llama3\" not found, try pulling it first", "type": "api_error"}},
      E.MODEL_NOT_FOUND, id="r18-ollama"),
    C("openai", 400, openai_err("The model `x` does not exist", code="model_not_found"), E.MODEL_NOT_FOUND,
      id="r18-on-400"),
    C("anthropic", 413, anthropic_err("request_too_large", "Request exceeds the maximum allowed number of bytes."),
      E.PAYLOAD_TOO_LARGE, id="r19-anthropic"),
    C("anthropic", 413, "<html><head><title>413 Request Entity Too Large</title></head></html>",
      E.PAYLOAD_TOO_LARGE, id="r19-cloudflare-html"),
    C("openai", 400, openai_err("Your request was rejected as a result of our safety system.",
                                code="content_policy_violation"), E.CONTENT_FILTER, id="r20-content_policy"),
    C("openai", 400, openai_err("Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
                                code="invalid_prompt"), E.CONTENT_FILTER, id="r20-invalid_prompt"),
    C("openai", 400, openai_err("The response was filtered due to the prompt triggering Azure OpenAI's content "
                                "management policy.", code="content_filter"), E.CONTENT_FILTER, id="r20-azure"),
    C("openai", 400, openai_err("Some text was flagged as potentially violating our usage policy."),
      E.CONTENT_FILTER, id="r20-wording-only"),
]


@pytest.mark.parametrize(("protocol", "status", "body", "expected"), ROWS)
def test_rows(protocol: str, status: int, body: Any, expected: E) -> None:
    assert cls(protocol, status, body) == expected


def test_openai_429_transient_with_hint() -> None:
    body = openai_err("Rate limit reached for o4-mini in organization org-abc on tokens per min (TPM): "
                      "Limit 200000, Used 152566, Requested 60651. Please try again in 3.965s. Visit "
                      "https://platform.openai.com/account/rate-limits to learn more.", "tokens",
                      "rate_limit_exceeded")
    c = classify_http("openai", 429, {}, body, now=NOW)
    assert (c.error_class, c.retry_after_s, c.code) == (E.RATE_LIMITED, pytest.approx(3.965), "rate_limit_exceeded")


def test_gemini_per_minute_is_not_quota_even_with_billing_wording() -> None:
    body = gemini_err(429, "RESOURCE_EXHAUSTED", GEMINI_QUOTA_MSG,
                      [quota_failure("GenerateContentInputTokensPerModelPerMinute-FreeTier"), RETRY_INFO])
    c = classify_http("gemini", 429, {}, body, now=NOW)
    assert (c.error_class, c.retry_after_s) == (E.RATE_LIMITED, 47.0)


# --- row 12: context length, every wording -----------------------------------------------------------

CONTEXT_BODIES: list[tuple[str, int, Any]] = [
    ("openai", 400, openai_err("This model's maximum context length is 128000 tokens. However, your messages "
                               "resulted in 130000 tokens.", code="context_length_exceeded")),
    ("openai", 400, {"object": "error", "message": "This model's maximum context length is 32768 tokens. However, "
                     "you requested 33077 tokens (32077 in the messages, 1000 in the completion). Please reduce the "
                     "length of the messages or completion.", "type": "BadRequestError", "param": None, "code": 400}),
    ("openai", 400, {"error": {"message": "This model's maximum context length is 4096 tokens. However, you "
                     "requested 5000 tokens.", "type": "BadRequestError", "param": None, "code": 400}}),
    ("openai", 400, openai_err("The input (5012 tokens) is longer than the model's context length (4096 tokens).")),
    ("openai", 400, openai_err("prompt token count of 125516 exceeds the limit of 64000", code="model_max_prompt_"
                               "tokens_exceeded")),
    ("anthropic", 400, anthropic_err("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum")),
    ("anthropic", 400, anthropic_err("invalid_request_error", "input length and `max_tokens` exceed context limit: "
                                     "197626 + 21333 > 200000, decrease input length or `max_tokens` and try again")),
    ("gemini", 400, gemini_err(400, "INVALID_ARGUMENT", "The input token count (1196265) exceeds the maximum number "
                               "of tokens allowed (1048575).")),
    ("openai", 400, {"error": {"code": 400, "message": "the request exceeds the available context size, try "
                     "increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096}}),
    ("openai", 500, {"error": {"code": 500, "message": "Context size has been exceeded.", "type": "server_error"}}),
    ("openai", 400, openai_err("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. "
                               "Given: 4000 `inputs` tokens and 200 `max_new_tokens`; current length is 4200 "
                               "while limit is 4096")),
    ("openai", 400, openai_err("This model's maximum input length is 8192 tokens.")),
    ("openai", 400, openai_err("input tokens exceed the configured limit of 272000 tokens")),
]


@pytest.mark.parametrize(("protocol", "status", "body"), CONTEXT_BODIES)
def test_context_length_every_wording(protocol: str, status: int, body: Any) -> None:
    assert cls(protocol, status, body) == E.CONTEXT_LENGTH


def test_context_length_in_a_200_body() -> None:
    body = {"error": {"code": 400, "message": "the request exceeds the available context size",
                      "type": "exceed_context_size_error"}}
    c = classify_success_body("openai", body)
    assert c is not None and c.error_class == E.CONTEXT_LENGTH


@pytest.mark.parametrize("body", [
    openai_err("Invalid 'messages[0].content': string too long. Expected a string with maximum length 10485760, "
               "but got a string with length 12000000 instead.", code="string_above_max_length"),
    openai_err("Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with "
               "length 100 instead. This model's maximum context length is irrelevant here."),
])
def test_context_length_false_positives(body: Any) -> None:
    assert not is_context_length(extract_error(body))
    assert cls("openai", 400, body) == E.INVALID_REQUEST


# --- rows 14, 15: invalid request vs translation rejected -----------------------------------------------

def test_invalid_request_native() -> None:
    assert cls("openai", 400, openai_err("Invalid value for 'temperature': must be <= 2.")) == E.INVALID_REQUEST
    assert cls("openai", 422, {"detail": [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required"}]}) \
        == E.INVALID_REQUEST
    assert cls("anthropic", 400, anthropic_err("invalid_request_error", "max_tokens: Field required")) \
        == E.INVALID_REQUEST
    assert cls("gemini", 400, gemini_err(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")) \
        == E.INVALID_REQUEST


TRANSLATION_BODIES: list[tuple[str, Any]] = [
    ("anthropic", anthropic_err("invalid_request_error", "messages.2: `tool_use` ids were found without "
                                "`tool_result` blocks immediately after: toolu_01. Each `tool_use` block must have "
                                "a corresponding `tool_result` block in the next message.")),
    ("anthropic", anthropic_err("invalid_request_error", "messages.3.content.0: unexpected `tool_use_id` found in "
                                "`tool_result` blocks: toolu_02. Each `tool_result` block must have a corresponding "
                                "`tool_use` block in the previous message.")),
    ("gemini", gemini_err(400, "INVALID_ARGUMENT", "Please ensure that multiturn requests alternate between user "
                          "and model.")),
    ("gemini", gemini_err(400, "INVALID_ARGUMENT", "Function call is missing a thought_signature in functionCall "
                          "parts. This is required for tools to work correctly.")),
    ("gemini", gemini_err(400, "INVALID_ARGUMENT", "Please ensure that the number of function response parts is "
                          "equal to the number of function call parts of the function call turn.")),
]


@pytest.mark.parametrize(("protocol", "body"), TRANSLATION_BODIES)
def test_translation_rejected_on_translated_protocols(protocol: str, body: Any) -> None:
    assert cls(protocol, 400, body) == E.TRANSLATION_REJECTED


MISTRAL_BODIES: list[tuple[int, Any]] = [
    (422, {"object": "error", "message": {"detail": [{"type": "extra_forbidden", "loc": ["body",
           "max_completion_tokens"], "msg": "Extra inputs are not permitted", "input": 100}]},
           "type": "invalid_request_error", "param": None, "code": None}),
    (400, {"object": "error", "message": "Tool call id was call_abc123def456 but must be a-z, A-Z, 0-9, with a "
           "length of 9.", "type": "invalid_request_error", "param": None, "code": "3280"}),
    (400, {"object": "error", "message": "Unexpected role 'user' after role 'tool'",
           "type": "invalid_request_message_order", "param": None, "code": "3230"}),
]


@pytest.mark.parametrize(("status", "body"), MISTRAL_BODIES)
def test_mistral_translation_errors(status: int, body: Any) -> None:
    assert cls("openai", status, body, translated=True) == E.TRANSLATION_REJECTED
    assert cls("openai", status, body) == E.INVALID_REQUEST          # native OpenAI target: caller's problem


def test_translation_wording_on_native_openai_is_caller_error() -> None:
    body = openai_err("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                      "each 'tool_call_id'.")
    assert cls("openai", 400, body) == E.INVALID_REQUEST


# --- body shapes ------------------------------------------------------------------------------------------

def test_gemini_one_element_array_wrapping() -> None:
    body = [gemini_err(503, "UNAVAILABLE", "The model is overloaded.")]
    assert cls("gemini", 503, body) == E.OVERLOADED
    assert cls("gemini", 503, '[{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}]') \
        == E.OVERLOADED


def test_gemini_cli_double_wrapped_message() -> None:
    inner = ('{\n  "error": {\n    "code": 429,\n    "message": "Resource has been exhausted",\n    "status": '
             '"RESOURCE_EXHAUSTED",\n    "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", '
             '"violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel"}]}]\n  }\n}\n')
    body = {"error": {"message": inner, "code": 429, "status": "Too Many Requests"}}
    assert cls("gemini", 429, body) == E.QUOTA_EXHAUSTED


def test_non_json_bodies() -> None:
    c = classify_http("openai", 502, {}, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body>"
                      b"</html>", now=NOW)
    assert c.error_class == E.SERVER_ERROR and c.message == "502 Bad Gateway"
    assert cls("openai", 400, "upstream said no") == E.INVALID_REQUEST
    assert cls("openai", 429, b'{"status": "come back later"}') == E.RATE_LIMITED
    assert cls("openai", 500, "") == E.SERVER_ERROR
    assert cls("openai", 503, {"error": "model is loading"}) == E.SERVER_ERROR


def test_classified_fields() -> None:
    headers = {"retry-after": "7", "x-should-retry": "false"}
    c = classify_http("anthropic", 529, headers, anthropic_err("overloaded_error", "Overloaded"), now=NOW)
    assert (c.error_class, c.message, c.code, c.retry_after_s, c.should_retry, c.status) == \
        (E.OVERLOADED, "Overloaded", "overloaded_error", 7.0, False, 529)
    assert len(classify_http("openai", 400, {}, openai_err("x" * 5000), now=NOW).message) <= 600


def test_status_none_uses_embedded_type() -> None:
    """An Anthropic ``event: error`` / Gemini ``data: {"error"...}`` line has no status of its own (§2.2)."""
    assert cls("anthropic", None, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}) \
        == E.OVERLOADED
    assert cls("anthropic", None, anthropic_err("rate_limit_error", "slow down")) == E.RATE_LIMITED
    assert cls("gemini", None, gemini_err(0, "UNAVAILABLE", "down")) == E.OVERLOADED
    assert cls("openai", None, {"error": {"message": "boom", "type": "server_error"}}) == E.SERVER_ERROR


# --- classify_success_body -------------------------------------------------------------------------------

def ok_openai(**message: Any) -> dict[str, Any]:
    finish = message.pop("finish_reason", "stop")
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}]}


def verdict(protocol: str, body: Any) -> E | None:
    c = classify_success_body(protocol, body)
    return None if c is None else c.error_class


def test_success_bodies_that_are_fine() -> None:
    assert verdict("openai", ok_openai(content="hi")) is None
    assert verdict("openai", ok_openai(content="partial", finish_reason="content_filter")) is None
    assert verdict("anthropic", {"type": "message", "content": [{"type": "text", "text": "hi"}],
                                 "stop_reason": "end_turn"}) is None
    assert verdict("gemini", {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]},
                                              "finishReason": "STOP"}]}) is None
    assert verdict("gemini", {"candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}]}) is None


def test_200_with_error_body_is_classified_like_the_error() -> None:
    assert verdict("openai", {"error": {"code": 429, "message": "Rate limit exceeded"}}) == E.RATE_LIMITED
    assert verdict("openai", {"error": {"code": 429, "message": "Rate limit exceeded"}, "choices": []}) \
        == E.RATE_LIMITED
    assert verdict("openai", {"object": "error", "message": "boom", "type": "InternalServerError", "code": 500}) \
        == E.SERVER_ERROR
    assert verdict("anthropic", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}) \
        == E.OVERLOADED
    assert verdict("gemini", gemini_err(503, "UNAVAILABLE", "overloaded")) == E.OVERLOADED


def test_200_without_usable_choices_is_malformed() -> None:
    assert verdict("openai", {"id": "x", "choices": []}) == E.MALFORMED_RESPONSE
    assert verdict("openai", {"id": "x"}) == E.MALFORMED_RESPONSE
    assert verdict("openai", {"choices": [{"index": 0}]}) == E.MALFORMED_RESPONSE
    assert verdict("openai", "not json at all") == E.MALFORMED_RESPONSE
    assert verdict("anthropic", {"type": "message"}) == E.MALFORMED_RESPONSE
    assert verdict("gemini", {"usageMetadata": {"promptTokenCount": 3}}) == E.MALFORMED_RESPONSE
    assert verdict("gemini", {"candidates": [{}]}) == E.MALFORMED_RESPONSE
    bad_args = ok_openai(content=None, tool_calls=[{"id": "c", "type": "function",
                                                    "function": {"name": "f", "arguments": "{oops"}}],
                         finish_reason="tool_calls")
    assert verdict("openai", bad_args) == E.MALFORMED_RESPONSE


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"])
def test_gemini_tool_failures_are_malformed(reason: str) -> None:
    assert verdict("gemini", {"candidates": [{"content": {"parts": []}, "finishReason": reason}]}) \
        == E.MALFORMED_RESPONSE


def test_mistral_finish_reason_error_is_a_provider_error() -> None:
    assert verdict("openai", ok_openai(content="", finish_reason="error")) == E.SERVER_ERROR


def test_filtered_with_no_content_is_content_filtered() -> None:
    assert verdict("openai", ok_openai(content=None, finish_reason="content_filter")) == E.CONTENT_FILTER
    refusal = {"type": "message", "content": [], "stop_reason": "refusal",
               "stop_details": {"type": "refusal", "category": "cyber", "explanation": "..."}}
    c = classify_success_body("anthropic", refusal)
    assert c is not None and c.error_class == E.CONTENT_FILTER and "cyber" in c.message
    assert verdict("gemini", {"candidates": [{"content": {"parts": []}, "finishReason": "SAFETY"}]}) \
        == E.CONTENT_FILTER
    assert verdict("gemini", {"candidates": [{"finishReason": "RECITATION"}]}) == E.CONTENT_FILTER
    assert verdict("gemini", {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}) == E.CONTENT_FILTER


def test_refusal_with_text_is_a_valid_answer() -> None:
    body = {"type": "message", "content": [{"type": "text", "text": "I can't help with that."}],
            "stop_reason": "refusal"}
    assert verdict("anthropic", body) is None
