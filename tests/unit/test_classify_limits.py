"""Rate-limit edge cases added to the classifier: Azure's ``x-ms-retry-after-ms`` in the precedence
order, and a single request larger than the per-minute token limit (providers.md §5 row 7), which
can never pass on that target however long one waits."""

from __future__ import annotations

import httpx
import pytest

from activities.providers.anthropic import AnthropicAdapter
from activities.providers.base import ProviderError
from activities.providers.http import make_http_client
from core.classify import classify_http
from core.errors import ErrorClass
from core.retry_hints import retry_after_s
from tests.unit.conftest import build_call

NOW = 1_787_000_000.0
ANTHROPIC_429 = {"type": "error", "error": {"type": "rate_limit_error", "message": "This request would exceed your "
                                            "organization's rate limit of 30,000 input tokens per minute."}}


def test_x_ms_retry_after_ms_comes_after_retry_after_ms_and_before_retry_after() -> None:
    assert retry_after_s({"x-ms-retry-after-ms": "2500"}, now=NOW) == 2.5
    assert retry_after_s({"x-ms-retry-after-ms": "2500", "retry-after": "9"}, now=NOW) == 2.5
    assert retry_after_s({"retry-after-ms": "700", "x-ms-retry-after-ms": "2500"}, now=NOW) == 0.7
    assert retry_after_s({"x-ms-retry-after-ms": "soon", "retry-after": "9"}, now=NOW) == 9.0


@pytest.mark.parametrize(("headers", "prompt_tokens", "expected"), [
    ({"anthropic-ratelimit-input-tokens-limit": "30000"}, 42_000, ErrorClass.TOO_LARGE_FOR_TARGET),
    ({"anthropic-ratelimit-input-tokens-limit": "30000"}, 12_000, ErrorClass.RATE_LIMITED),
    ({"anthropic-ratelimit-tokens-limit": "80000"}, 90_000, ErrorClass.TOO_LARGE_FOR_TARGET),
    ({"x-ratelimit-limit-tokens": "10000"}, 11_652, ErrorClass.TOO_LARGE_FOR_TARGET),
    ({"x-ratelimit-limit-tokens": "garbage"}, 11_652, ErrorClass.RATE_LIMITED),
    ({}, 1_000_000, ErrorClass.RATE_LIMITED),
    ({"anthropic-ratelimit-input-tokens-limit": "30000"}, None, ErrorClass.RATE_LIMITED),
])
def test_a_prompt_over_the_per_minute_token_limit_is_too_large_for_the_target(
        headers: dict[str, str], prompt_tokens: int | None, expected: ErrorClass) -> None:
    c = classify_http("anthropic", 429, {"retry-after": "20", **headers}, ANTHROPIC_429, now=NOW,
                      prompt_tokens=prompt_tokens)
    assert c.error_class is expected


async def test_the_adapter_passes_its_prompt_estimate() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json=ANTHROPIC_429, headers={"retry-after": "20",
                                                                "anthropic-ratelimit-input-tokens-limit": "30000",
                                                                "anthropic-ratelimit-input-tokens-remaining": "0"})
    big = {"messages": [{"role": "user", "content": "Clause. " * 20_000}]}        # about 40k tokens
    small = {"messages": [{"role": "user", "content": "Hello"}]}
    async with make_http_client(transport=httpx.MockTransport(answer)) as client:
        for request, expected in ((big, ErrorClass.TOO_LARGE_FOR_TARGET), (small, ErrorClass.RATE_LIMITED)):
            with pytest.raises(ProviderError) as e:
                await AnthropicAdapter().complete(client, build_call("anthropic", request))
            assert e.value.error_class is expected
