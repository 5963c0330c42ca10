"""What a streamed success body holds: the protocol's events, after a stream fault or a stream cut.

Scenario keys (``scenarios/README.md`` "Streaming"): ``stream_fault`` with ``stream_fault_after_tokens``
N (tokens of answer text or tool-call arguments, 4 characters each; 0 = before the first one):

- ``cut``: the body ends cleanly after N tokens, before the final event.
- ``stall``: after N tokens nothing more is sent; the connection stays open until the client leaves.
- ``error_event``: after N tokens the provider's in-stream error event, then the end of the body.
- ``malformed``: after N tokens one frame whose payload is not JSON; the stream then goes on.
- ``no_final``: all content, then the body ends without the final event.
- ``tool_cut``: a tool call whose arguments stop mid-JSON (after N tokens, always before their
  last character), then the end of the body. Only tool-call answers are affected.

When N tokens is the whole answer or more, ``cut``/``stall``/``error_event`` come after all content.
Without a stream fault, the older ``stream_cut_share`` cut (after N chunks, pings not counted) applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulator.answer import Answer, Ask
from simulator.behaviour import Plan
from simulator.protocol import Chunking, Event, Protocol, Reply, events_through
from simulator.text import CHARS_PER_TOKEN

Ending = Literal["end", "stall"]


@dataclass(frozen=True)
class StreamScript:
    """The events to send, how the body ends, and where the fault shows.

    ``fault`` is counted in ``/_sim/stats`` when sending reaches index ``fault_at`` (``len(events)``:
    after the last event); ``chunk_cut`` marks an old-style ``stream_cut_share`` cut.
    """

    events: list[Event]
    ending: Ending = "end"
    fault: str | None = None
    fault_at: int = 0
    chunk_cut: bool = False


def _fault_chars(plan: Plan, answer: Answer, fault: str | None) -> int | None:
    """Characters of content before the fault (a chunk boundary is forced there)."""
    if fault is None:
        return None
    chars = plan.fault_after_tokens * CHARS_PER_TOKEN
    if fault == "tool_cut" and answer.tool_call is not None:
        return max(0, min(chars, len(answer.tool_call.arguments) - 1))
    return chars


def _chunk_cut(events: list[Event], cut: int | None) -> StreamScript:
    if cut is None:
        return StreamScript(events)
    limit = min(cut, sum(1 for e in events if e.kind in ("head", "content")))
    kept: list[Event] = []
    counted = 0
    for event in events:
        if event.kind != "ping":
            if counted >= limit:
                break
            counted += 1
        kept.append(event)
    return StreamScript(kept, chunk_cut=True)


def _faulted(proto: Protocol, events: list[Event], fault: str, chars: int, ask: Ask, answer: Answer,
             reply: Reply, sse: bool) -> StreamScript:
    args = (ask, answer, reply, sse)
    if fault == "no_final":
        kept = proto.without_final(events, *args)
        return StreamScript(kept, fault=fault, fault_at=len(kept))
    if fault == "tool_cut":
        kept = proto.tool_cut(events, chars, *args)
        return StreamScript(kept, fault=fault, fault_at=len(kept))
    if fault == "malformed":
        before = events_through(events, chars)
        frame = Event(proto.fault_frame("malformed", reply, sse, first=not before), "content")
        return StreamScript([*before, frame, *events[len(before):]], fault=fault, fault_at=len(before))
    before = proto.prefix(events, chars, *args)
    if fault == "error_event":
        frame = Event(proto.fault_frame("error", reply, sse, first=not before), "tail")
        return StreamScript([*before, frame], fault=fault, fault_at=len(before))
    return StreamScript(before, ending="stall" if fault == "stall" else "end", fault=fault, fault_at=len(before))


def build_stream(proto: Protocol, ask: Ask, answer: Answer, reply: Reply, sse: bool, plan: Plan) -> StreamScript:
    """The stream of ``answer`` as ``plan`` says: chunks of one token each when ``tokens_per_s`` is
    set, then the stream fault (if one was drawn) or else the chunk cut (if one was drawn)."""
    fault = plan.stream_fault
    if fault == "tool_cut" and answer.tool_call is None:
        fault = None
    chars = _fault_chars(plan, answer, fault)
    events = proto.stream(ask, answer, reply, sse, Chunking(plan.tokens_per_s is not None, chars))
    if fault is None or chars is None:
        return _chunk_cut(events, plan.cut_after_chunks)
    return _faulted(proto, events, fault, chars, ask, answer, reply, sse)
