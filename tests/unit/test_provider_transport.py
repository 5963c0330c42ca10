"""The provider HTTP client on both transports (aiohttp, the default, and httpx's own), against raw
sockets on loopback: one request per call (no retry, no redirect followed), and each way a
connection fails raises the httpx error class the classification relies on (``providers.md`` §4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from activities.providers.http import make_http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"


@pytest.fixture(params=["aiohttp", "httpx"])
def client_factory(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[[], httpx.AsyncClient]:
    monkeypatch.setenv("SWITCHYARD_PROVIDER_TRANSPORT", request.param)
    return make_http_client


class _Server:
    def __init__(self, handler: Handler) -> None:
        self.handler, self.requests = handler, 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.requests += 1
                await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _serving(handler: Handler) -> AsyncIterator[tuple[str, _Server]]:
    srv = _Server(handler)
    server = await asyncio.start_server(srv._serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1/chat/completions", srv
    finally:
        server.close()


async def _post(client: httpx.AsyncClient, url: str, timeout_s: float = 5.0) -> httpx.Response:
    async with client.stream("POST", url, json={"model": "m"}, timeout=httpx.Timeout(timeout_s, connect=2)) as r:
        await r.aread()
        return r


async def test_an_answer_then_a_kept_alive_second_call(client_factory) -> None:  # type: ignore[no-untyped-def]
    body = b'{"ok": true}'

    async def answer(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(HEAD % len(body) + body)
        await w.drain()
    async for url, srv in _serving(answer):
        async with client_factory() as client:
            first, second = await _post(client, url), await _post(client, url)
        assert first.json() == second.json() == {"ok": True} and srv.requests == 2
        assert first.headers["content-type"] == "application/json"


async def test_a_redirect_is_not_followed(client_factory) -> None:  # type: ignore[no-untyped-def]
    async def redirect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/elsewhere\r\n"
                b"content-length: 0\r\n\r\n")
        await w.drain()
    async for url, srv in _serving(redirect):
        async with client_factory() as client:
            resp = await _post(client, url)
        assert resp.status_code == 307 and srv.requests == 1


async def test_a_dropped_connection_is_a_read_error_sent_once(client_factory) -> None:  # type: ignore[no-untyped-def]
    async def drop(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()
    async for url, srv in _serving(drop):
        async with client_factory() as client:
            with pytest.raises(httpx.HTTPError) as info:
                await _post(client, url)
        assert isinstance(info.value, httpx.TransportError)
        assert not isinstance(info.value, httpx.TimeoutException)  # not classified as a timeout
        assert srv.requests == 1  # no retry


async def test_a_body_cut_off_is_a_read_error(client_factory) -> None:  # type: ignore[no-untyped-def]
    async def cut(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(HEAD % 100 + b'{"partial":')
        await w.drain()
        w.close()
    async for url, _srv in _serving(cut):
        async with client_factory() as client:
            with pytest.raises(httpx.HTTPError) as info:
                await _post(client, url)
        assert not isinstance(info.value, httpx.TimeoutException)


async def test_a_silent_server_is_a_read_timeout(client_factory) -> None:  # type: ignore[no-untyped-def]
    async def silent(_r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)
    async for url, _srv in _serving(silent):
        async with client_factory() as client:
            with pytest.raises(httpx.ReadTimeout):
                await _post(client, url, timeout_s=0.3)


async def test_a_refused_connection_is_a_connect_error(client_factory) -> None:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with client_factory() as client:
        with pytest.raises(httpx.ConnectError):
            await _post(client, f"http://127.0.0.1:{port}/v1/chat/completions")
