"""The contract every wire-protocol adapter implements, and the one error type they raise.

An adapter turns a :class:`core.chat.ChatRequest` (OpenAI shape) into one HTTP call in its
protocol and the answer back into a :class:`core.chat.ChatResponse`::

    adapter.complete(client, call) -> AdapterResult     # or raises ProviderError

Adapters never retry (Temporal's retry policy is the only retry layer) and never log request or
response bodies (they may hold user data). Every failure leaves as a :class:`ProviderError`
carrying its :class:`core.errors.ErrorClass`, decided once by ``core/classify.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import httpx

from core.chat import ChatRequest, ChatResponse
from core.config import ProviderConfig, TargetConfig
from core.errors import ErrorClass


@dataclass(frozen=True)
class ProviderCall:
    """One call: the target, its provider, the key (read from the environment by the caller of
    the adapter; ``None`` when the provider needs none), the request and the timeout in seconds."""

    target: TargetConfig
    provider: ProviderConfig
    api_key: str | None
    request: ChatRequest
    timeout_s: float

    def base_url(self) -> str:
        """The provider's base URL with ``{region}`` replaced by the target's region."""
        return self.provider.base_url.replace("{region}", self.target.region)

    def __repr__(self) -> str:  # never print the key
        return f"ProviderCall(target={self.target.id!r}, timeout_s={self.timeout_s})"


@dataclass
class AdapterResult:
    """A mapped answer. ``ttft_ms``: time to first byte of the body (non-streaming) or first token
    (streaming), in ms. ``notes``: parameters dropped or mapped for this target, for the trace.
    ``upstream_id``: the provider's own response or request id."""

    response: ChatResponse
    ttft_ms: float | None = None
    notes: list[str] = field(default_factory=list)
    upstream_id: str | None = None


class ProviderError(Exception):
    """A classified provider failure.

    ``status``: HTTP status (``None`` for transport failures). ``retry_after_s``: the server's
    reset hint in seconds, already parsed and capped (``core/retry_hints.py``), or ``None``.
    ``code``: the provider's own error code or type, if any. ``should_retry``: the server's
    ``x-should-retry`` header (``False`` forbids a same-target retry), ``None`` when absent.
    ``message`` never holds model output.
    """

    def __init__(self, error_class: ErrorClass, message: str, *, status: int | None = None,
                 retry_after_s: float | None = None, code: str | None = None,
                 should_retry: bool | None = None) -> None:
        super().__init__(message)
        self.should_retry = should_retry
        self.error_class = error_class
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.code = code

    def __repr__(self) -> str:
        return f"ProviderError({self.error_class.value}, status={self.status}, {self.message!r})"


class Adapter(Protocol):
    """One wire protocol (``openai``, ``anthropic``, ``gemini``)."""

    protocol: str

    async def complete(self, client: httpx.AsyncClient, call: ProviderCall) -> AdapterResult:
        """Send ``call`` and map the answer; raises :class:`ProviderError` on any failure."""
        ...
