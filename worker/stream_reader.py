"""The reader's side of the fast lane: open a stream before its request starts, follow it, let go.

``async with reader.subscribe(key, keep_s=...) as state:`` registers ``key`` in this process's
:class:`activities.streams.hub.StreamHub` (so an attempt running here publishes to it directly)
and, when a shared channel is configured, watches the key on the process's
:class:`activities.streams.remote.RemoteFeed` (so an attempt on another worker process reaches
it too). Pieces from both sources land in the same state by offset, each char once. On exit the
state is closed and released (kept ``keep_s`` seconds for a client that resumes with the same
Idempotency-Key).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from activities.streams.hub import StreamHub, StreamState, Update


class StreamReader:
    """See module docstring. ``feed``: the remote feed of the shared channel, or ``None``."""

    def __init__(self, hub: StreamHub, feed: Any | None = None) -> None:
        self.hub = hub
        self.feed = feed

    def open(self, key: str, *, remote: bool = True) -> StreamState:
        """Register a reader of ``key`` here and (``remote``) on the remote feed; pair with
        :meth:`release`. ``remote=False``: the attempt is expected in this process; call
        :meth:`watch_remote` if it turns out not to be."""
        state = self.hub.open(key)
        state.closed = False
        if remote:
            self.watch_remote(state)
        return state

    def watch_remote(self, state: StreamState) -> None:
        """Also feed ``state`` from the shared channel (when one is configured)."""
        if self.feed is not None:
            self.feed.watch(state)

    def release(self, state: StreamState, *, keep_s: float = 0.0, close: bool = True) -> None:
        """One reader fewer. ``close``: no more events are expected (waiting readers return);
        ``keep_s``: keep the state that long for a resuming client."""
        if self.feed is not None and state.readers <= 1:
            self.feed.unwatch(state)
        if close and state.readers <= 1:
            state.close()
        self.hub.release(state, keep_s)

    @asynccontextmanager
    async def subscribe(self, key: str, *, keep_s: float = 0.0) -> AsyncIterator[StreamState]:
        """The live state of stream ``key`` while the block runs (see module docstring)."""
        state = self.open(key)
        try:
            yield state
        finally:
            self.release(state, keep_s=keep_s)


async def follow_until(updates: AsyncIterator[Update], done: asyncio.Future[Any], *,
                       idle_s: float | None = None, pending: asyncio.Task[Update] | None = None,
                       ) -> AsyncIterator[Update | None]:
    """Updates of ``updates`` (from ``StreamState.follow``) until ``done`` (the workflow result)
    completes or the state closes; ``None`` after each ``idle_s`` seconds without one (a keep-alive
    tick). ``pending``: an ``anext(updates)`` task already waiting. What arrives after ``done`` is
    left to the caller, who completes from the durable answer."""
    nxt = pending
    try:
        while True:
            if nxt is None:
                nxt = asyncio.ensure_future(anext(updates))  # type: ignore[arg-type]
            finished, _ = await asyncio.wait({nxt, done}, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
            if nxt in finished:
                if nxt.exception() is not None:  # StopAsyncIteration: the state was closed
                    nxt = None
                    return
                upd, nxt = nxt.result(), None
                yield upd
                continue
            if done in finished:
                return
            yield None
    finally:
        if nxt is not None:
            nxt.cancel()
            with contextlib.suppress(BaseException):
                await nxt
