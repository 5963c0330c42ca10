"""What travels on the fast lane: pieces of the glued answer, addressed by offset.

Every text piece carries its ``offset`` in the *glued* answer (the content of every part of a
rescued stream, joined), so a reader can take pieces from any mix of sources (the in-process hub,
a shared channel, a replayed attempt) and keep each character exactly once: a piece that starts
before what the reader has already emitted is cut, one that starts after it waits. Tool calls are
published only when complete (``shared/STREAMING.md``: a rescue never emits broken arguments) and
are numbered in the order they appear in the answer.

Wire form (shared channels): one compact JSON object per event, see :func:`encode` / :func:`decode`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TextPiece:
    """``text`` at char ``offset`` of the glued answer, produced by attempt ``seq`` on ``target``
    (whose wire ``model`` name answers)."""

    offset: int
    text: str
    seq: int
    target: str
    model: str


@dataclass(frozen=True)
class ToolCallPiece:
    """A complete tool call, ``index`` in the answer's ``tool_calls`` (0-based), ``arguments`` as
    the JSON text the model produced."""

    index: int
    id: str
    name: str
    arguments: str
    seq: int
    target: str
    model: str


StreamEvent = TextPiece | ToolCallPiece


def encode(event: StreamEvent) -> str:
    """The event as one JSON line (``{"k": "t"|"c", ...}``)."""
    if isinstance(event, TextPiece):
        return json.dumps({"k": "t", "o": event.offset, "x": event.text, "s": event.seq, "g": event.target,
                           "m": event.model}, separators=(",", ":"))
    return json.dumps({"k": "c", "i": event.index, "d": event.id, "n": event.name, "a": event.arguments,
                       "s": event.seq, "g": event.target, "m": event.model}, separators=(",", ":"))


def decode(line: str | bytes) -> StreamEvent:
    """Inverse of :func:`encode`; raises ``ValueError`` for anything else."""
    d: dict[str, Any] = json.loads(line)
    if d.get("k") == "t":
        return TextPiece(int(d["o"]), str(d["x"]), int(d["s"]), str(d["g"]), str(d["m"]))
    if d.get("k") == "c":
        return ToolCallPiece(int(d["i"]), str(d["d"]), str(d["n"]), str(d["a"]), int(d["s"]), str(d["g"]),
                             str(d["m"]))
    raise ValueError(f"not a stream event: {str(line)[:80]}")
