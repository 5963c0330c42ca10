"""Streamed provider calls: the streaming wire request per protocol and one streamed POST.

``await stream_complete(adapter, client, call, on_delta)`` is the streaming twin of
``adapter.complete(client, call)``: the same request translation with the protocol's streaming
switch (OpenAI: ``stream: true`` and ``stream_options.include_usage``, except on Mistral, which
sends usage on its last chunk unasked and rejects the field; Anthropic: ``stream: true``; Gemini:
``:streamGenerateContent?alt=sse``), the body fed to the protocol's parser
(``streaming_openai.py``, ``streaming_anthropic.py``, ``streaming_gemini.py``) as it arrives, each
delta handed to ``on_delta``, and the assembled answer returned as an :class:`AdapterResult` whose
``ttft_ms`` is the time to the first content or tool-call delta.

Error tree (every failure is a :class:`ProviderError`): non-2xx -> ``classify_http``; an error event
inside the 200 stream -> classified like the HTTP error; connection lost after the headers or a
body that ends before the final event -> ``StreamCut`` (providers.md §5 row 3); no bytes within the
timeout -> ``Timeout``; connect failures as in ``common.post_json``. Never retries (one POST).
Not yet used by the request path (token streaming to callers is a later step); the parsers and this
call are what it will use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from activities.providers.base import AdapterResult, ProviderCall, ProviderError
from activities.providers.common import HttpAdapter, ResponseMeta, WireRequest, decode_answer
from activities.providers.http import CONNECT_TIMEOUT_S
from activities.providers.mistral_dialect import is_mistral_host
from activities.providers.stream_base import StreamDelta, StreamParser
from activities.providers.streaming_anthropic import AnthropicStreamParser
from activities.providers.streaming_gemini import GeminiStreamParser
from activities.providers.streaming_openai import OpenAIStreamParser
from core.errors import ErrorClass
from core.tokens import estimate_prompt_tokens

PARSERS: dict[str, type[StreamParser]] = {"openai": OpenAIStreamParser, "anthropic": AnthropicStreamParser,
                                          "gemini": GeminiStreamParser}


def stream_parser(protocol: str, call: ProviderCall, headers: Any = None, **options: Any) -> StreamParser:
    """A fresh parser for ``protocol`` (options: ``now``, ``translated``, ``meta``; see StreamParser)."""
    return PARSERS[protocol](call, headers, **options)


def stream_wire(adapter: HttpAdapter, call: ProviderCall) -> WireRequest:
    """The adapter's wire request with the protocol's streaming switch turned on."""
    plain = ProviderCall(call.target, call.provider, call.api_key,
                         call.request.model_copy(update={"stream": None, "stream_options": None}), call.timeout_s)
    wire = adapter.build_request(plain)
    body, url = dict(wire.body), wire.url
    if adapter.protocol == "gemini":
        url = url.replace(":generateContent", ":streamGenerateContent") + "?alt=sse"
    else:
        body["stream"] = True
        if adapter.protocol == "openai" and not is_mistral_host(call.base_url()):
            body["stream_options"] = {"include_usage": True}
    return WireRequest(url, {**wire.headers, "accept": "text/event-stream"}, body, wire.notes)


async def stream_complete(adapter: HttpAdapter, client: httpx.AsyncClient, call: ProviderCall,
                          on_delta: Callable[[StreamDelta], Any] | None = None) -> AdapterResult:
    """One streamed POST (see the module docstring); raises :class:`ProviderError` only."""
    call, prepared = await adapter.prepare(client, call)
    wire = stream_wire(adapter, call)
    timeout = httpx.Timeout(call.timeout_s, connect=min(call.timeout_s, CONNECT_TIMEOUT_S))
    started = time.perf_counter()
    try:
        async with client.stream("POST", wire.url, json=wire.body, headers=wire.headers, timeout=timeout) as resp:
            if not 200 <= resp.status_code < 300:
                raw = await resp.aread()
                decode_answer(adapter.protocol, resp.status_code, resp.headers, raw,
                              translated=adapter.translated(call), prompt_tokens=estimate_prompt_tokens(call.request))
            parser = stream_parser(adapter.protocol, call, resp.headers, translated=adapter.translated(call),
                                   meta=ResponseMeta.new(time.time()))
            ttft_ms = await _pump(resp, parser, started, on_delta)
            response = parser.close()
    except ProviderError:
        raise
    except httpx.ConnectTimeout as e:
        raise ProviderError(ErrorClass.CONNECT, f"connect timeout ({type(e).__name__})") from None
    except httpx.TimeoutException as e:
        raise ProviderError(ErrorClass.TIMEOUT, f"no data within {call.timeout_s:g} s ({type(e).__name__})") from None
    except httpx.HTTPError as e:
        raise ProviderError(ErrorClass.CONNECT, f"connection failed ({type(e).__name__})") from None
    notes = [*prepared, *wire.notes, *adapter.response_notes(parser.raw_body())]
    return AdapterResult(response=response, ttft_ms=ttft_ms, notes=notes, upstream_id=_request_id(resp.headers))


async def _pump(resp: httpx.Response, parser: StreamParser, started: float,
                on_delta: Callable[[StreamDelta], Any] | None) -> float | None:
    """Feed the body to ``parser``; the ms to the first content delta. A connection lost or a read
    that times out after the headers ends the stream as ``StreamCut`` / ``Timeout``."""
    ttft_ms: float | None = None
    try:
        async for chunk in resp.aiter_bytes():
            for delta in parser.feed(chunk):
                if ttft_ms is None and (delta.content or delta.tool_calls):
                    ttft_ms = (time.perf_counter() - started) * 1000.0
                if on_delta is not None:
                    on_delta(delta)
    except httpx.TimeoutException:
        raise ProviderError(ErrorClass.TIMEOUT, "stream stalled: no data within the timeout", status=200) from None
    except httpx.HTTPError as e:
        raise ProviderError(ErrorClass.STREAM_CUT, f"stream cut: connection lost ({type(e).__name__})",
                            status=200) from None
    return ttft_ms


def _request_id(headers: httpx.Headers) -> str | None:
    for name in ("x-request-id", "request-id", "mistral-correlation-id"):
        if headers.get(name):
            return headers[name]
    return None
