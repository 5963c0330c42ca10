"""The attempt's side of the fast lane: publish each delta where the reader is.

``publisher.sink(key, seq, target, model, base_offset)`` gives one attempt an :class:`AttemptSink`:

- **local** (a reader opened ``key`` in this process's :class:`hub.StreamHub`, the normal eager
  gateway case): pieces are applied to the shared state synchronously, no serialisation, no hop;
- **shared** (no local reader, or ``also_shared``: a resumable request on several replicas):
  pieces are encoded and appended to the shared channel by a background flush every
  ``flush_ms`` (one write per batch, not per token);
- neither (no reader anywhere asked for a stream): nothing is published.

Offsets: the sink starts at ``base_offset`` (the length of the partial answer a rescue continues)
and counts the chars it publishes, so every piece lands at its place in the glued answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from activities.streams.channel import SharedChannel
from activities.streams.events import StreamEvent, TextPiece, ToolCallPiece, encode
from activities.streams.hub import StreamHub, StreamState

log = logging.getLogger("switchyard.streams")


class AttemptSink:
    """Publishes one attempt's text and complete tool calls (see module docstring)."""

    def __init__(self, key: str, seq: int, target: str, model: str, base_offset: int, base_calls: int,
                 local: StreamState | None, shared: SharedChannel | None, flush_ms: int) -> None:
        self.key, self.seq, self.target, self.model = key, seq, target, model
        self.offset = base_offset
        self.calls = base_calls
        self._local = local
        self._shared = shared
        self._flush_s = flush_ms / 1000.0
        self._pending: list[str] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def abort(self) -> asyncio.Event | None:
        """Set when the local reader gave up on the stream (its client disconnected): the attempt
        stops its upstream call. ``None`` when the reader is not in this process."""
        return self._local.abort if self._local is not None else None

    @property
    def active(self) -> bool:
        """Whether anybody will read what is published."""
        return self._local is not None or self._shared is not None

    def text(self, text: str) -> None:
        """Publish ``text`` at the current offset."""
        if not text:
            return
        self._emit(TextPiece(self.offset, text, self.seq, self.target, self.model))
        self.offset += len(text)

    def tool_call(self, call_id: str, name: str, arguments: str) -> None:
        """Publish one complete tool call as the answer's next call."""
        self._emit(ToolCallPiece(self.calls, call_id, name, arguments, self.seq, self.target, self.model))
        self.calls += 1

    def _emit(self, event: StreamEvent) -> None:
        if self._local is not None:
            self._local.publish([event])
        if self._shared is not None:
            self._pending.append(encode(event))
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_s)
        self._task = None
        await self._flush()

    async def _flush(self) -> None:
        lines, self._pending = self._pending, []
        if not lines or self._shared is None:
            return
        try:
            await self._shared.publish(self.key, lines)
        except Exception as e:  # the fast lane is best effort: the reader finishes from the durable answer
            log.warning("stream %s: shared channel %s dropped %d piece(s): %s", self.key, self._shared.name,
                        len(lines), type(e).__name__)

    async def aclose(self) -> None:
        """Flush what is pending (call when the attempt ends, success or not)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush()


class StreamPublisher:
    """Hands out :class:`AttemptSink` s (see module docstring). ``shared``: the configured shared
    channel, ``None`` when there is none (``streams.channel: off``)."""

    def __init__(self, hub: StreamHub, shared: SharedChannel | None = None, *, flush_ms: int = 20) -> None:
        self.hub = hub
        self.shared = shared
        self._flush_ms = flush_ms

    def sink(self, key: str, seq: int, target: str, model: str, *, base_offset: int = 0, base_calls: int = 0,
             also_shared: bool = False) -> AttemptSink:
        """The sink of one attempt of stream ``key`` (the workflow id)."""
        local = self.hub.get(key)
        shared = self.shared if (local is None or also_shared) else None
        return AttemptSink(key, seq, target, model, base_offset, base_calls, local, shared, self._flush_ms)
