"""Usage arithmetic: the cost of an answer, and an estimate when a provider reports no usage.

``cost_usd(usage, price)`` applies a target's price (USD per 1M tokens, ``core.config.Price``;
source for defaults: ``shared/providers.md`` §6) to OpenAI-shaped usage (§4.2 "Usage": prompt tokens
include cached tokens once, completion tokens include reasoning tokens)::

    (prompt - cached) * input + cached * (cached_input or input) + completion * output, / 1e6

``estimated_usage(request, completion_text)`` uses ``core/tokens.py`` (about 4 characters per
token) and sets ``Usage.estimated = True``.

Pure: importable inside workflows.
"""

from __future__ import annotations

from core.chat import ChatRequest, Usage
from core.config import Price
from core.tokens import estimate_prompt_tokens, estimate_text_tokens

PER_MILLION = 1_000_000.0


def cost_usd(usage: Usage, price: Price) -> float:
    """USD for one answer. Cached prompt tokens are billed at ``price.cached_input`` (the input price
    when the target has none); the rest of the prompt at ``price.input``; completion (reasoning
    included) at ``price.output``. Never negative."""
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    cached = min(max(cached, 0), max(usage.prompt_tokens, 0))
    uncached = max(usage.prompt_tokens, 0) - cached
    cached_price = price.input if price.cached_input is None else price.cached_input
    total = uncached * price.input + cached * cached_price + max(usage.completion_tokens, 0) * price.output
    return total / PER_MILLION


def estimated_usage(request: ChatRequest, completion_text: str) -> Usage:
    """A usage estimate for a provider that reported none (``estimated=True``): prompt from the
    request (messages, tools, images), completion from the answer's text and tool-call JSON."""
    prompt = estimate_prompt_tokens(request)
    completion = estimate_text_tokens(completion_text)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                 estimated=True)
