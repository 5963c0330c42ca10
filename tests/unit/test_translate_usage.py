"""core/usage.py: cost arithmetic over OpenAI-shaped usage, and the estimate for usage-less answers."""

from __future__ import annotations

import pytest

from core.chat import ChatRequest, PromptTokensDetails, Usage
from core.config import Price
from core.usage import cost_usd, estimated_usage


def test_cost_without_cache() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=500_000, total_tokens=1_500_000)
    assert cost_usd(usage, Price(input=2.50, output=10.00)) == pytest.approx(2.50 + 5.00)


def test_cached_tokens_at_cached_price() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=100, total_tokens=1100,
                  prompt_tokens_details=PromptTokensDetails(cached_tokens=600))
    price = Price(input=3.00, output=15.00, cached_input=0.30)      # claude-3-5-sonnet, providers.md §6
    expected = (400 * 3.00 + 600 * 0.30 + 100 * 15.00) / 1e6
    assert cost_usd(usage, price) == pytest.approx(expected)


def test_cached_tokens_at_input_price_when_no_cached_price() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=0, prompt_tokens_details=PromptTokensDetails(cached_tokens=600))
    assert cost_usd(usage, Price(input=2.00, output=6.00)) == pytest.approx(1000 * 2.00 / 1e6)


def test_cost_is_never_negative_and_free_is_zero() -> None:
    weird = Usage(prompt_tokens=10, completion_tokens=0, prompt_tokens_details=PromptTokensDetails(cached_tokens=50))
    assert cost_usd(weird, Price(input=1.0, output=1.0, cached_input=0.1)) == pytest.approx(10 * 0.1 / 1e6)
    assert cost_usd(Usage(prompt_tokens=123, completion_tokens=45), Price()) == 0.0


def test_estimated_usage() -> None:
    req = ChatRequest(messages=[{"role": "user", "content": "x" * 40}])
    usage = estimated_usage(req, "y" * 20)
    assert usage.estimated and usage.completion_tokens == 5
    assert usage.prompt_tokens == 3 + 4 + 10 and usage.total_tokens == usage.prompt_tokens + 5
