"""The in-process hub: one :class:`StreamState` per streamed request, shared by its publisher (the
attempt activity, when it runs in this process) and its readers (gateway responses).

Memory is bounded by the answer, not by the reader: the state holds the glued text so far and the
complete tool calls, and each reader keeps only its own position; a slow reader simply takes a
larger piece next time (``shared/STREAMING.md`` "Backpressure"). Readers wait on a version counter
and an ``asyncio.Event`` replaced at every change, so publishing is synchronous (the attempt's
delta callback) and a piece reaches every waiting reader in one loop iteration.

Lifecycle: a reader :meth:`StreamHub.open` s the key *before* the request starts (so the attempt sees
a local reader and publishes here), and :meth:`StreamHub.release` s it when done; with ``keep_s``
the state stays for that long (a client that reconnects with the same Idempotency-Key resumes from
it). Single event loop; not thread-safe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from activities.streams.events import StreamEvent, ToolCallPiece


@dataclass
class Update:
    """What a reader gets at once: new ``text`` (continuing exactly where it was), new complete
    ``tool_calls``, and the ``model`` that produced the last of it."""

    text: str = ""
    tool_calls: list[ToolCallPiece] = field(default_factory=list)
    model: str | None = None


@dataclass
class Part:
    """One attempt's share of the glued answer: chars ``[start, end)`` from ``target``."""

    seq: int
    target: str
    start: int
    end: int


class StreamState:
    """The answer so far of one stream (see module docstring)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._chunks: list[str] = []
        self.length = 0                     # chars of glued text held
        self.tool_calls: dict[int, ToolCallPiece] = {}
        self.parts: list[Part] = []
        self.model: str | None = None
        self.delivered = 0                  # furthest offset a reader has emitted (resume by key)
        self.closed = False
        self.readers = 0
        self.expires_at: float | None = None
        self._version = 0
        self._changed = asyncio.Event()
        self.abort = asyncio.Event()        # set by the reader: stop the attempt (client gone)

    def text(self, start: int = 0) -> str:
        """The glued text from char ``start``."""
        if len(self._chunks) > 1:
            self._chunks = ["".join(self._chunks)]
        return self._chunks[0][start:] if self._chunks else ""

    def apply(self, event: StreamEvent) -> bool:
        """Take one event; returns whether it added anything. Text before what is held is cut,
        text after a gap is held back (dropped: the durable answer fills any gap at the end)."""
        if isinstance(event, ToolCallPiece):
            if event.index in self.tool_calls:
                return False
            self.tool_calls[event.index] = event
        else:
            if event.offset > self.length:
                return False
            new = event.text[self.length - event.offset:]
            if not new:
                return False
            self._chunks.append(new)
            if self.parts and self.parts[-1].seq == event.seq:
                self.parts[-1].end = self.length + len(new)
            else:
                self.parts.append(Part(event.seq, event.target, self.length, self.length + len(new)))
            self.length += len(new)
        self.model = event.model
        self._version += 1
        return True

    def publish(self, events: list[StreamEvent]) -> None:
        """Apply ``events`` and wake the readers if anything changed."""
        if any([self.apply(e) for e in events]):
            self._wake()

    def close(self) -> None:
        """No more events will come (the request ended); waiting readers return."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, start: int = 0, calls_seen: int = 0) -> AsyncIterator[Update]:
        """Updates from text offset ``start`` (and tool call number ``calls_seen``) until the state
        is closed. Each update holds everything new since the previous one."""
        pos, ncalls, seen = start, calls_seen, -1
        while True:
            if self._version == seen and not self.closed:
                await self._changed.wait()
            seen = self._version
            upd = Update(text=self.text(pos) if self.length > pos else "", model=self.model)
            while ncalls in self.tool_calls:
                upd.tool_calls.append(self.tool_calls[ncalls])
                ncalls += 1
            pos += len(upd.text)
            if upd.text or upd.tool_calls:
                yield upd
            if self.closed and self._version == seen:
                return


class StreamHub:
    """The process's streams by key (the request's workflow id); see module docstring."""

    def __init__(self, clock=time.monotonic) -> None:
        self._states: dict[str, StreamState] = {}
        self._clock = clock

    def open(self, key: str) -> StreamState:
        """The state of ``key`` (created when new), with one more reader registered."""
        self._sweep()
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = StreamState(key)
        state.readers += 1
        state.expires_at = None
        return state

    def get(self, key: str) -> StreamState | None:
        """The state of ``key`` if a reader has opened it here (the publisher's test)."""
        return self._states.get(key)

    def release(self, state: StreamState, keep_s: float = 0.0) -> None:
        """One reader fewer; the state is forgotten when none is left, after ``keep_s`` seconds."""
        state.readers = max(0, state.readers - 1)
        if state.readers == 0:
            if keep_s > 0:
                state.expires_at = self._clock() + keep_s
            else:
                self._states.pop(state.key, None)

    def keys(self) -> list[str]:
        """Keys currently held (open or kept for resume)."""
        return list(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def _sweep(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._states.items() if s.expires_at is not None and s.expires_at <= now]:
            del self._states[key]
