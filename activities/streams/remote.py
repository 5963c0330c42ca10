"""The reader process's one poller of the shared channel, feeding the hub's stream states.

``feed.watch(state)`` adds a stream; one background task loops ``channel.read(cursors of every
watched stream, block_ms)`` and applies the decoded events to each state (``StreamState.publish``,
which keeps every char once by offset, so pieces that also arrived through the in-process hub are
harmless). One read serves every open stream. Channel errors are logged once per outage and retried
with a back-off (the reader still finishes from the durable answer); the task ends when nothing is
watched and starts again on the next watch. Old rows are expired now and then (``retain_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from activities.streams.channel import SharedChannel
from activities.streams.events import decode
from activities.streams.hub import StreamState

log = logging.getLogger("switchyard.streams")
BLOCK_MS = 1000
BACKOFF_S = (0.1, 0.5, 1.0, 2.0)


class RemoteFeed:
    """See module docstring."""

    def __init__(self, channel: SharedChannel, *, poll_ms: int = 50, retain_s: float = 300.0) -> None:
        self.channel = channel
        self._block_ms = max(poll_ms, min(BLOCK_MS, 20 * poll_ms))
        self._retain_s = retain_s
        self._states: dict[str, StreamState] = {}
        self._cursors: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._errors = 0
        self._expired_at = time.monotonic()

    def watch(self, state: StreamState) -> None:
        """Feed ``state`` from the channel (from the stream's start)."""
        self._states[state.key] = state
        self._cursors.setdefault(state.key, "")
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="switchyard-stream-feed")

    def unwatch(self, state: StreamState) -> None:
        """Stop feeding ``state``."""
        self._states.pop(state.key, None)
        self._cursors.pop(state.key, None)

    async def _run(self) -> None:
        while self._states:
            try:
                got = await self.channel.read(dict(self._cursors), self._block_ms)
            except Exception as e:  # the fast lane is best effort
                self._errors += 1
                if self._errors == 1:
                    log.warning("shared stream channel %s unreachable: %s", self.channel.name, type(e).__name__)
                await asyncio.sleep(BACKOFF_S[min(self._errors, len(BACKOFF_S)) - 1])
                continue
            self._errors = 0
            for key, entries in got.items():
                self._apply(key, entries)
            await self._maybe_expire()

    def _apply(self, key: str, entries: list[tuple[str, str]]) -> None:
        state = self._states.get(key)
        if state is None:
            return
        events = []
        for cursor, line in entries:
            self._cursors[key] = cursor
            with contextlib.suppress(ValueError, KeyError):
                events.append(decode(line))
        state.publish(events)

    async def _maybe_expire(self) -> None:
        if time.monotonic() - self._expired_at < max(5.0, self._retain_s / 10):
            return
        self._expired_at = time.monotonic()
        with contextlib.suppress(Exception):
            await self.channel.expire(self._retain_s)

    async def aclose(self) -> None:
        """Stop the poller."""
        self._states.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
