"""Incremental decoders for streamed provider bodies: Server-Sent Events and a streamed JSON array.

Both take raw bytes as they arrive (any split, even inside a UTF-8 character or a line ending) and
return the complete items found so far; neither does I/O.

- :class:`SSEDecoder` follows the WHATWG ``text/event-stream`` rules
  (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
  lines end with CRLF, LF or CR; ``data:`` lines of one event are joined with ``\\n``; ``event:``
  names the event; lines starting with ``:`` are comments; a blank line dispatches the event; one
  space after the colon is dropped. An event still open when the body ends is dispatched by
  :meth:`SSEDecoder.close` only if it has data (providers end their last event with a blank line;
  a body cut mid-event leaves partial JSON, which the protocol parser then rejects).
  OpenAI and Gemini (``alt=sse``) send ``data:`` lines only; Anthropic names every event
  (providers.md §2.1-2.3).
- :class:`JSONArrayDecoder` reads Gemini's ``streamGenerateContent`` without ``alt=sse``: one JSON
  array written element by element (``[{...},\\r\\n{...}]``, §1.3). It yields each top-level element
  as soon as its closing brace arrives; ``finished`` turns true at the closing ``]``.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: ``event`` is the ``event:`` field (``None`` when absent), ``data`` the
    joined ``data:`` lines."""

    event: str | None
    data: str


class SSEDecoder:
    """Bytes in, :class:`SSEEvent` s out (see the module docstring)."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk``."""
        self._buffer += self._text.decode(chunk)
        return self._drain(final=False)

    def close(self) -> list[SSEEvent]:
        """End of body: the last line (if unterminated) and an undispatched event that has data."""
        self._buffer += self._text.decode(b"", final=True)
        events = self._drain(final=True)
        if self._buffer:
            self._line(self._buffer, events)
            self._buffer = ""
        if self._data:
            events.append(self._dispatch())
        return events

    def _drain(self, *, final: bool) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        while True:
            cut = _line_end(self._buffer, final)
            if cut is None:
                return events
            end, skip = cut
            line, self._buffer = self._buffer[:end], self._buffer[end + skip:]
            self._line(line, events)

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self._data or self._event is not None:
                events.append(self._dispatch())
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value

    def _dispatch(self) -> SSEEvent:
        event = SSEEvent(self._event, "\n".join(self._data))
        self._event, self._data = None, []
        return event


def _line_end(buffer: str, final: bool) -> tuple[int, int] | None:
    """``(index of the line end, its length)`` of the first complete line, or ``None``. A CR at the
    very end of the buffer waits for the next chunk (it may be the first half of a CRLF)."""
    for i, ch in enumerate(buffer):
        if ch == "\n":
            return i, 1
        if ch == "\r":
            if i + 1 < len(buffer):
                return i, 2 if buffer[i + 1] == "\n" else 1
            return (i, 1) if final else None
    return None


class JSONArrayDecoder:
    """Bytes of one streamed JSON array in, its top-level elements (parsed) out.

    Raises ``ValueError`` when the body is not a JSON array or an element does not parse."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""          # text of the element being read
        self._depth = 0             # bracket depth; the outer array is depth 1
        self._in_string = False
        self._escaped = False
        self.started = False
        self.finished = False

    def feed(self, chunk: bytes) -> list[Any]:
        """The elements completed by ``chunk``."""
        out: list[Any] = []
        for ch in self._text.decode(chunk):
            self._char(ch, out)
        return out

    def close(self) -> list[Any]:
        """End of body: flush the decoder (an unfinished element stays unparsed; see ``finished``)."""
        out: list[Any] = []
        for ch in self._text.decode(b"", final=True):
            self._char(ch, out)
        return out

    def _char(self, ch: str, out: list[Any]) -> None:
        if not self.started:
            if ch.isspace():
                return
            if ch != "[":
                raise ValueError("stream body is not a JSON array")
            self.started, self._depth = True, 1
            return
        if self.finished:
            if not ch.isspace():
                raise ValueError("data after the end of the JSON array")
            return
        if self._depth == 1 and not self._pending:
            self._between(ch)
            return
        self._pending += ch
        self._track(ch)
        if self._depth == 1:
            out.append(json.loads(self._pending))
            self._pending = ""

    def _between(self, ch: str) -> None:
        if ch.isspace() or ch == ",":
            return
        if ch == "]":
            self._depth, self.finished = 0, True
            return
        if ch not in "{[":
            raise ValueError(f"unexpected {ch!r} between array elements")
        self._pending, self._depth = ch, 2

    def _track(self, ch: str) -> None:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif ch == "\\":
                self._escaped = True
            elif ch == '"':
                self._in_string = False
        elif ch == '"':
            self._in_string = True
        elif ch in "{[":
            self._depth += 1
        elif ch in "}]":
            self._depth -= 1
