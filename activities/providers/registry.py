"""``adapter_for(protocol) -> Adapter``: the one adapter instance per wire protocol.

Adapters hold no state (the HTTP client is passed to every ``complete()`` call), so one instance per
protocol is shared by every activity in the process.
"""

from __future__ import annotations

from activities.providers.anthropic import AnthropicAdapter
from activities.providers.base import Adapter
from activities.providers.gemini import GeminiAdapter
from activities.providers.openai import OpenAIAdapter

_ADAPTERS: dict[str, Adapter] = {"openai": OpenAIAdapter(), "anthropic": AnthropicAdapter(),
                                 "gemini": GeminiAdapter()}


def adapter_for(protocol: str) -> Adapter:
    """The adapter for ``openai`` | ``anthropic`` | ``gemini``; ``KeyError`` for any other name."""
    try:
        return _ADAPTERS[protocol]
    except KeyError:
        raise KeyError(f"no adapter for wire protocol {protocol!r}") from None


def protocols() -> list[str]:
    """The wire protocols with an adapter."""
    return sorted(_ADAPTERS)
