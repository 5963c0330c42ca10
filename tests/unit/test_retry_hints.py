"""core/retry_hints.py: every reset-hint format of providers.md §3.5, one row each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.retry_hints import (
    MAX_RETRY_AFTER_S,
    extract_error,
    parse_duration,
    retry_after_s,
    should_retry,
)

NOW = datetime(2026, 8, 17, 9, 33, 20, tzinfo=UTC).timestamp()   # unix seconds
NOW_HTTP_DATE_PLUS_30 = "Mon, 17 Aug 2026 09:33:50 GMT"   # NOW + 30 s
NOW_RFC3339_PLUS_12 = "2026-08-17T09:33:32Z"                # NOW + 12 s


def test_fixture_dates_are_what_the_names_say() -> None:
    assert retry_after_s({"retry-after": NOW_HTTP_DATE_PLUS_30}, now=NOW) == pytest.approx(30.0)
    assert retry_after_s({"anthropic-ratelimit-tokens-reset": NOW_RFC3339_PLUS_12}, now=NOW) == 12.0


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "7"}, 7.0),
    ({"Retry-After": "1.5"}, 1.5),
    ({"retry-after-ms": "4321"}, 4.321),
    ({"retry-after": NOW_HTTP_DATE_PLUS_30}, 30.0),
    ({"x-ratelimit-reset-requests": "6m0s"}, 360.0),
    ({"x-ratelimit-reset-tokens": "500ms"}, 0.5),
    ({"x-ratelimit-reset-tokens": "1m30s"}, 90.0),
    ({"x-ratelimit-reset-tokens": "12ms"}, 0.012),
    ({"x-ratelimit-reset-requests": "2h0m0s"}, 7200.0),
    ({"x-ratelimit-reset": "42"}, 42.0),                                   # relative seconds
    ({"x-ratelimit-reset": str(int(NOW) + 90)}, 90.0),                     # epoch seconds
    ({"x-ratelimit-reset": str(int(NOW * 1000) + 2500)}, 2.5),             # epoch milliseconds
    ({"anthropic-ratelimit-requests-reset": NOW_RFC3339_PLUS_12}, 12.0),   # RFC 3339
    ({"anthropic-ratelimit-tokens-reset": "2026-08-17T09:33:32.500+00:00"}, 12.5),
])
def test_header_formats(headers: dict[str, str], expected: float) -> None:
    assert retry_after_s(headers, None, now=NOW) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("value", ["soon", "", "later please", "-", "1e5x", "Tomorrow at noon"])
def test_garbage_is_none(value: str) -> None:
    assert retry_after_s({"retry-after": value}, now=NOW) is None
    assert retry_after_s({"x-ratelimit-reset-tokens": value}, now=NOW) is None
    assert retry_after_s({"retry-after-ms": value}, now=NOW) is None


def test_nothing_is_none() -> None:
    assert retry_after_s(None, None, now=NOW) is None
    assert retry_after_s({}, {"error": {"message": "try again later"}}, now=NOW) is None
    assert retry_after_s({}, "<html>502 Bad Gateway</html>", now=NOW) is None


def test_gemini_retry_info_in_body() -> None:
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
                      "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                                  {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}]}}
    assert retry_after_s({}, body, now=NOW) == 47.0
    assert retry_after_s({}, [body], now=NOW) == 47.0          # Vertex one-element array wrapping
    assert extract_error(body).retry_delay_s == 47.0


@pytest.mark.parametrize(("message", "expected"), [
    ("Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29000, Requested 1538. "
     "Please try again in 1.574s. Visit https://platform.openai.com/account/rate-limits", 1.574),
    ("Rate limit reached for requests. Please try again in 20ms.", 0.02),
    ("Please try again in 6m0s.", 360.0),
    ("You exceeded your current quota.\n* Quota exceeded for metric: x, limit: 20\nPlease retry in 36.429760048s.",
     36.429760048),
    ("Please try again in 20 seconds.", 20.0),
])
def test_message_text_hints(message: str, expected: float) -> None:
    assert retry_after_s({}, {"error": {"message": message}}, now=NOW) == pytest.approx(expected)
    assert retry_after_s({}, f'{{"error": {{"message": "{message}"}}}}'.replace("\n", "\\n"), now=NOW) \
        == pytest.approx(expected)


def test_precedence_ms_then_seconds_then_reset_then_body() -> None:
    body = {"error": {"message": "Please try again in 9s."}}
    headers = {"retry-after-ms": "1500", "retry-after": "3", "x-ratelimit-reset-tokens": "6s"}
    assert retry_after_s(headers, body, now=NOW) == 1.5
    headers.pop("retry-after-ms")
    assert retry_after_s(headers, body, now=NOW) == 3.0
    headers.pop("retry-after")
    assert retry_after_s(headers, body, now=NOW) == 6.0
    headers.pop("x-ratelimit-reset-tokens")
    assert retry_after_s(headers, body, now=NOW) == 9.0


def test_garbage_falls_through_to_next_source() -> None:
    headers = {"retry-after-ms": "soon", "retry-after": "soon", "x-ratelimit-reset-tokens": "2s"}
    assert retry_after_s(headers, None, now=NOW) == 2.0


def test_reset_headers_relevant_one_is_the_exhausted_limit() -> None:
    headers = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-requests": "59",
               "x-ratelimit-reset-tokens": "20s", "x-ratelimit-remaining-tokens": "0"}
    assert retry_after_s(headers, None, now=NOW) == 20.0


def test_reset_headers_every_exhausted_limit_must_reset() -> None:
    headers = {"anthropic-ratelimit-requests-reset": NOW_RFC3339_PLUS_12,
               "anthropic-ratelimit-requests-remaining": "0",
               "anthropic-ratelimit-tokens-reset": "2026-08-17T09:33:25Z",
               "anthropic-ratelimit-tokens-remaining": "0",
               "anthropic-ratelimit-input-tokens-reset": "2026-08-17T09:34:20Z",
               "anthropic-ratelimit-input-tokens-remaining": "1000"}
    assert retry_after_s(headers, None, now=NOW) == 12.0


def test_reset_headers_of_limits_with_room_are_ignored() -> None:
    headers = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-requests": "59",
               "x-ratelimit-reset-tokens": "20s", "x-ratelimit-remaining-tokens": "1200",
               "anthropic-ratelimit-requests-reset": NOW_RFC3339_PLUS_12,
               "anthropic-ratelimit-requests-remaining": "999"}
    assert retry_after_s(headers, None, now=NOW) is None
    assert retry_after_s(headers, {"error": {"message": "Please try again in 2s."}}, now=NOW) == 2.0


def test_reset_headers_without_remaining_info_take_the_earliest() -> None:
    headers = {"x-ratelimit-reset-requests": "8.64s", "x-ratelimit-reset-tokens": "6m0s"}
    assert retry_after_s(headers, None, now=NOW) == 8.64


def test_never_negative() -> None:
    assert retry_after_s({"retry-after": "-5"}, now=NOW) == 0.0
    assert retry_after_s({"retry-after": "Mon, 17 Aug 2026 09:00:00 GMT"}, now=NOW) == 0.0
    assert retry_after_s({"anthropic-ratelimit-tokens-reset": "2026-08-17T09:00:00Z"}, now=NOW) == 0.0
    assert retry_after_s({"x-ratelimit-reset": str(int(NOW) - 100)}, now=NOW) == 0.0


def test_capped_at_a_day() -> None:
    assert retry_after_s({"retry-after": "999999"}, now=NOW) == MAX_RETRY_AFTER_S
    assert retry_after_s({"x-ratelimit-reset-requests": "100h"}, now=NOW) == MAX_RETRY_AFTER_S
    assert MAX_RETRY_AFTER_S == 86_400.0


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("True", True), ("false", False), (" FALSE ", False), ("maybe", None)])
def test_x_should_retry(value: str, expected: bool | None) -> None:
    assert should_retry({"X-Should-Retry": value}) is expected


def test_x_should_retry_absent() -> None:
    assert should_retry({}) is None
    assert should_retry(None) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("6m0s", 360.0), ("500ms", 0.5), ("1m30s", 90.0), ("1.5s", 1.5), ("2h", 7200.0), ("47s", 47.0),
    ("soon", None), ("", None), ("5", None), ("m", None)])
def test_parse_duration(text: str, expected: float | None) -> None:
    assert parse_duration(text) == expected


def test_httpx_headers_accepted() -> None:
    import httpx

    assert retry_after_s(httpx.Headers({"Retry-After": "4"}), now=NOW) == 4.0
