"""Low-level ASGI sending with disconnect detection, and the two transport faults.

A :class:`Channel` wraps one request's ``receive``/``send``. A background task listens for
``http.disconnect`` so that every wait (:meth:`Channel.sleep`, :meth:`Channel.wait_disconnect`)
ends as soon as the client goes away or the simulator shuts down.

Faults (scenario README ``reset_share``, ``hang_share``):

- :meth:`Channel.reset`: the client sees a transport error, never an HTTP status. Under uvicorn with
  :func:`resettable_protocol` (what ``simulator.server`` uses) the TCP connection is aborted with
  ``SO_LINGER 0``, a real reset before any byte of the response. Elsewhere (another ASGI server) the
  fallback sends a response head announcing a body (``content-length``) and returns without it, and
  uvicorn closes the connection; :func:`quiet_incomplete_response_log` drops the error line uvicorn
  logs for that deliberate case.
- :meth:`Channel.wait_disconnect`: answer nothing until the client disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Iterator
from typing import Any

from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

_INCOMPLETE = "ASGI callable returned without completing response."
_Addr = tuple[Any, ...]


class ConnectionRegistry:
    """Live server transports by ``(server address, client address)``, so a request can reset its
    own TCP connection. Filled by the protocol class from :func:`resettable_protocol`."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[_Addr, _Addr], asyncio.Transport] = {}

    def add(self, server: _Addr, client: _Addr, transport: asyncio.Transport) -> None:
        """Remember a new connection."""
        self._by_key[(tuple(server), tuple(client))] = transport

    def discard(self, server: _Addr, client: _Addr) -> None:
        """Forget a closed connection."""
        self._by_key.pop((tuple(server), tuple(client)), None)

    def abort(self, scope: Scope) -> bool:
        """Reset the connection that carries ``scope`` (RST, no bytes sent); False if unknown."""
        key = (tuple(scope.get("server") or ()), tuple(scope.get("client") or ()))
        transport = self._by_key.get(key)
        if transport is None or transport.is_closing():
            return False
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        return True


def resettable_protocol(registry: ConnectionRegistry) -> type[H11Protocol]:
    """uvicorn's h11 protocol class, registering each connection in ``registry``."""

    class ResettableH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if self.server and self.client:
                registry.add(self.server, self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.server and self.client:
                registry.discard(self.server, self.client)
            super().connection_lost(exc)

    return ResettableH11Protocol


class Channel:
    """One HTTP exchange: timed sends that stop early when the client disconnects."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, closing: asyncio.Event,
                 connections: ConnectionRegistry | None = None) -> None:
        self._scope = scope
        self._connections = connections
        self._receive = receive
        self._send = send
        self._closing = closing
        self._gone = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self.started = False

    async def __aenter__(self) -> Channel:
        self._listener = asyncio.create_task(self._listen())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def _listen(self) -> None:
        while True:
            message: Message = await self._receive()
            if message["type"] == "http.disconnect":
                self._gone.set()
                return

    @property
    def disconnected(self) -> bool:
        """True once the client has gone away."""
        return self._gone.is_set()

    @property
    def interrupted(self) -> bool:
        """True if the client went away or the simulator is shutting down."""
        return self._gone.is_set() or self._closing.is_set()

    async def _wait_any(self, timeout: float | None) -> None:
        waiters = [asyncio.create_task(self._gone.wait()), asyncio.create_task(self._closing.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` (real); False if the client left or the simulator closed meanwhile."""
        if seconds > 0 and not self.interrupted:
            await self._wait_any(seconds)
        elif seconds <= 0:
            await asyncio.sleep(0)
        return not self.interrupted

    async def wait_disconnect(self) -> bool:
        """Wait until the client disconnects (True) or the simulator shuts down (False)."""
        await self._wait_any(None)
        return self.disconnected

    async def start(self, status: int, headers: dict[str, str]) -> None:
        """Send the response head."""
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        self.started = True

    async def body(self, data: bytes, more: bool = True) -> None:
        """Send a piece of the body (``more=False`` ends it)."""
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def respond(self, status: int, headers: dict[str, str], data: bytes) -> None:
        """A complete response with a ``content-length``."""
        await self.start(status, {**headers, "content-length": str(len(data))})
        await self.body(data, more=False)

    async def reset(self) -> None:
        """Drop the connection: a TCP reset when the connection is registered, else announce a body,
        send none of it, and return (uvicorn then closes the connection)."""
        if self._connections is not None and self._connections.abort(self._scope):
            with contextlib.suppress(TimeoutError):  # let the server see the connection is gone
                await asyncio.wait_for(self._gone.wait(), 1.0)
            return
        if not self.started:
            await self.start(200, {"content-type": "application/json", "content-length": "4096"})
        await self.body(b"", more=True)


class _DropIncomplete(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _INCOMPLETE


@contextlib.contextmanager
def quiet_incomplete_response_log() -> Iterator[None]:
    """Silence uvicorn's log line for responses the simulator leaves incomplete on purpose."""
    log = logging.getLogger("uvicorn.error")
    dropper = _DropIncomplete()
    log.addFilter(dropper)
    try:
        yield
    finally:
        log.removeFilter(dropper)
