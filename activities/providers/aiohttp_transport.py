"""Provider calls on aiohttp's connection pool, behind httpx's API.

httpx's own pool (httpcore) spends CPU per request that grows with the requests in flight: on the
2-core dev box one POST to the ~1 ms simulator cost the caller 0.8 ms of CPU at 8 in flight, 3.6 ms
at 32 and 9.9 ms at 128 (``bench/client_cost.py``; the same behaviour as encode/httpx#3215). With
httpx's API on the ``httpx-aiohttp`` transport (the one the OpenAI SDK offers as
``DefaultAioHttpClient``) the same calls cost 0.5-0.6 ms at every level. The adapters, timeouts and
error handling keep using httpx's types; only the bytes move through aiohttp.

The library maps some aiohttp errors onto the wrong httpx class for our classification
(``providers.md`` §4): a server that drops the connection, or a reset while reading the body,
becomes ``httpx.ConnectTimeout``, which would classify a cut stream as a timeout. :class:`ProviderTransport`
maps them again from the aiohttp error they came from, to what httpx's own transport raises:

============================================ ===========================
aiohttp error (``__cause__``)                 raised as
============================================ ===========================
``ConnectionTimeoutError`` (connect or pool)  ``httpx.ConnectTimeout``
``SocketTimeoutError``, ``ServerTimeoutError`` ``httpx.ReadTimeout``
``ClientConnectorError`` (refused, DNS)       ``httpx.ConnectError``
``ServerDisconnectedError``, ``ClientOSError``,
``ClientPayloadError`` (cut off mid-answer)   ``httpx.ReadError``
============================================ ===========================
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def remapped(err: httpx.HTTPError) -> httpx.HTTPError:
    """The httpx error httpx's own transport would have raised for ``err``'s aiohttp cause (table above)."""
    cause = err.__cause__
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(cause) or "connect timeout")
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(str(cause) or "read timeout")
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(cause))
    if isinstance(cause, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return httpx.ReadError(str(cause) or type(cause).__name__)
    return err


class _Body(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.HTTPError as e:
            raise remapped(e) from e.__cause__

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except httpx.HTTPError as e:
            raise remapped(e) from e.__cause__


class ProviderTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport on one aiohttp ``ClientSession`` (HTTP/1.1, kept-alive connections,
    at most ``limits.max_connections`` open, idle ones closed after ``limits.keepalive_expiry`` s;
    no retries, no redirects: ``httpx.AsyncClient`` never asks for them here).

    The session is created on the first request, in the running event loop; :meth:`aclose` closes it.
    Errors are httpx's (module table)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._inner = AiohttpTransport(limits=limits, http1=True, http2=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            resp = await self._inner.handle_async_request(request)
        except httpx.HTTPError as e:
            raise remapped(e) from e.__cause__
        assert isinstance(resp.stream, httpx.AsyncByteStream)
        return httpx.Response(status_code=resp.status_code, headers=resp.headers, stream=_Body(resp.stream),
                              request=request, extensions=resp.extensions)

    async def aclose(self) -> None:
        await self._inner.aclose()
