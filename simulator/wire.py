"""Low-level ASGI sending with disconnect detection, and the two transport faults.

A :class:`Channel` wraps one request's ``receive``/``send``. A background task listens for
``http.disconnect`` so that every wait (:meth:`Channel.sleep`, :meth:`Channel.wait_disconnect`)
ends as soon as the client goes away or the simulator shuts down.

Faults (scenario README ``reset_share``, ``hang_share``):

- :meth:`Channel.reset`: send a response head announcing a body (``content-length``) and then close
  the connection without the body, so the client sees a transport error (for httpx
  ``RemoteProtocolError``), never an HTTP status. Uvicorn closes the transport when an ASGI app
  returns without completing its response; :func:`quiet_incomplete_response_log` drops the error
  line uvicorn logs for that deliberate case.
- :meth:`Channel.wait_disconnect`: answer nothing until the client disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from starlette.types import Message, Receive, Send

_INCOMPLETE = "ASGI callable returned without completing response."


class Channel:
    """One HTTP exchange: timed sends that stop early when the client disconnects."""

    def __init__(self, receive: Receive, send: Send, closing: asyncio.Event) -> None:
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
        """Announce a body, send none of it, and return: uvicorn then closes the connection."""
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
