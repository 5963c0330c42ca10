"""The one shared HTTP client for provider calls: pooled, HTTP/1.1, and never retrying.

Temporal's retry policy is the only retry layer (STYLE.md "Errors"; providers.md §3.6 "Router rule"),
so the transport makes exactly one connection attempt per request (``retries=0``), redirects are not
followed (a redirect means a wrong base URL, and following one would resend the prompt elsewhere),
and no SDK sits in between. Timeouts are per call (adapters pass ``httpx.Timeout`` built from
``ProviderCall.timeout_s``); the client default below only guards misuse.

Pool sizing: keep-alive connections are reused across attempts to the same provider (TLS setup
costs a round trip or two per new connection); idle ones are closed after ``keepalive_expiry``
seconds, below the idle timeouts providers' load balancers use (typically 60 s or more).

Transport: aiohttp's pool under httpx's API (``aiohttp_transport.py``: httpx's own pool costs CPU
per call that grows with the calls in flight); ``SWITCHYARD_PROVIDER_TRANSPORT=httpx`` selects
httpx's own transport instead.
"""

from __future__ import annotations

import os

import httpx

from activities.providers.aiohttp_transport import ProviderTransport

#: Default limits for one worker process. A streamed answer holds its connection until its last
#: token, so the pool must not be smaller than the streams a gateway serves at once
#: (``gateway.max_concurrent_requests``, 1,000): a call waiting for a pooled connection would spend
#: its first-token timeout waiting.
MAX_CONNECTIONS = 1000
MAX_KEEPALIVE = 50
KEEPALIVE_EXPIRY_S = 30.0
#: Connect timeout used by adapters (seconds); the OpenAI and Anthropic SDKs use 5 s (providers.md §3.6).
CONNECT_TIMEOUT_S = 5.0
USER_AGENT = "switchyard/0.1"


def make_http_client(*, max_connections: int = MAX_CONNECTIONS, max_keepalive: int = MAX_KEEPALIVE,
                     keepalive_expiry_s: float = KEEPALIVE_EXPIRY_S,
                     transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A pooled ``httpx.AsyncClient`` for adapters: HTTP/1.1, ``retries=0``, no redirects.

    ``transport`` replaces the network transport (tests pass ``httpx.MockTransport``); by default
    :class:`ProviderTransport` (aiohttp), or httpx's own when ``SWITCHYARD_PROVIDER_TRANSPORT`` is
    ``httpx``. Close the client with ``await client.aclose()`` at worker shutdown.
    """
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive,
                          keepalive_expiry=keepalive_expiry_s)
    if transport is None:
        if os.environ.get("SWITCHYARD_PROVIDER_TRANSPORT", "aiohttp") == "httpx":
            transport = httpx.AsyncHTTPTransport(retries=0, http1=True, http2=False, limits=limits)
        else:
            transport = ProviderTransport(limits)
    return httpx.AsyncClient(transport=transport, limits=limits, follow_redirects=False,
                             timeout=httpx.Timeout(60.0, connect=CONNECT_TIMEOUT_S),
                             headers={"user-agent": USER_AGENT})
