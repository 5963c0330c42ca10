"""One probe call through a target's adapter, plain or streamed, and what it found.

``await probe_call(http, call, streamed=...)`` -> :class:`ProbeResult`; never raises for a
provider failure (it is the result). Plain: ``adapter.complete`` within the target's whole-call
timeout ``timeout_s``. Streamed (targets with the ``streaming`` capability):
:func:`activities.providers.streaming.stream_complete`; the first content or tool-call delta must
arrive within :func:`first_token_timeout_s` (else ``Timeout``, "no first token within N s"), then
the rest of the answer (a few tokens: ``probe_max_tokens``) must arrive within ``timeout_s`` of the
start (else ``Timeout``); an error after the first token (a cut stream, an error event) is that
error's class, like a user call. The result carries the TTFT in ms (``None`` for a plain call or
when no token came).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from activities.providers.base import AdapterResult, ProviderCall, ProviderError
from activities.providers.registry import adapter_for
from activities.providers.stream_base import StreamDelta
from activities.providers.streaming import stream_complete
from core.errors import ErrorClass
from core.quality import check_answer

#: First-token timeout (s) of a target without ``first_token_timeout_s``: ``min(timeout_s, 10)``
#: (the config's own default, ``core.config.TargetConfig.first_token_s``).
DEFAULT_FIRST_TOKEN_S = 10.0


@dataclass
class ProbeResult:
    """``status``: ``"ok"`` or an error class; ``http_status``: None for transport failures;
    ``tokens``: completion tokens; ``flags``: quality flags, comma-separated; ``message``: why it
    failed (never model output); ``latency_ms``: whole call; ``ttft_ms``: first token (streamed)."""

    status: str = "ok"
    http_status: int | None = None
    tokens: int = 0
    flags: str = ""
    message: str = ""
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    streamed: bool = False


def first_token_timeout_s(target: Any) -> float:
    """The target's ``first_token_timeout_s`` (s), else ``min(timeout_s, 10)``; never above ``timeout_s``."""
    configured = getattr(target, "first_token_timeout_s", None)
    return min(configured or DEFAULT_FIRST_TOKEN_S, target.timeout_s)


async def probe_call(http: httpx.AsyncClient, call: ProviderCall, *, streamed: bool) -> ProbeResult:
    """Run one probe call (see module docstring)."""
    out = ProbeResult(streamed=streamed)
    started = time.perf_counter()
    first = _FirstToken()
    try:
        res = await (_streamed(http, call, first) if streamed else _plain(http, call))
        out.tokens = res.response.usage.completion_tokens
        out.flags = ",".join(check_answer(call.request, res.response))
        out.ttft_ms = res.ttft_ms if streamed else None
    except ProviderError as e:
        out.status, out.http_status, out.message = e.error_class.value, e.status, e.message[:500]
    except TimeoutError:
        out.status = ErrorClass.TIMEOUT.value
        out.message = (f"no first token within {first_token_timeout_s(call.target):g} s" if streamed and not first.seen
                       else f"no answer within {call.timeout_s:g} s")
    out.latency_ms = (time.perf_counter() - started) * 1000.0
    if streamed and out.ttft_ms is None and first.seen_ms is not None:
        out.ttft_ms = first.seen_ms
    return out


async def _plain(http: httpx.AsyncClient, call: ProviderCall) -> AdapterResult:
    async with asyncio.timeout(call.timeout_s):
        return await adapter_for(call.provider.protocol).complete(http, call)


class _FirstToken:
    """Watches the deltas of one stream: when the first token arrives, moves ``deadline`` from the
    first-token timeout to the whole-call one."""

    def __init__(self) -> None:
        self.seen = False
        self.seen_ms: float | None = None
        self.deadline: asyncio.Timeout | None = None
        self.whole_at = 0.0
        self.started = time.perf_counter()

    def on_delta(self, delta: StreamDelta) -> None:
        if self.seen or not (delta.content or delta.tool_calls):
            return
        self.seen, self.seen_ms = True, (time.perf_counter() - self.started) * 1000.0
        if self.deadline is not None:
            self.deadline.reschedule(self.whole_at)


async def _streamed(http: httpx.AsyncClient, call: ProviderCall, first: _FirstToken) -> AdapterResult:
    loop = asyncio.get_running_loop()
    first.started, first.whole_at = time.perf_counter(), loop.time() + call.timeout_s
    async with asyncio.timeout(first_token_timeout_s(call.target)) as deadline:
        first.deadline = deadline
        adapter = adapter_for(call.provider.protocol)
        return await stream_complete(adapter, http, call, first.on_delta)  # type: ignore[arg-type]
