"""``POST /v1/messages`` with ``stream: true``: Anthropic's event sequence, driven live.

The timeline (failover before the first token invisible, rescue after it, keep-alives, the
durable answer at the end) is ``live.py``'s; this class only renders it as Anthropic's events
(Anthropic "Streaming Messages"; ``shared/providers.md`` section 2.2)::

    event: message_start        {"type": "message_start", "message": {id, model, content: [], usage, ...}}
    event: content_block_start  {"index": 0, "content_block": {"type": "text", "text": ""}}
    event: ping                 (once, after the first block start)
    event: content_block_delta  {"index": 0, "delta": {"type": "text_delta", "text": ...}}
    event: content_block_stop   {"index": 0}
    ...                         a tool call: a tool_use block start {id, name, input: {}}, one
                                input_json_delta with the whole arguments, its stop
    event: message_delta        {"delta": {"stop_reason", "stop_sequence": null}, "usage": {...}}
    event: message_stop

``message_start`` carries ``input_tokens: 0`` (not known before the answer ends); the real counts
come in ``message_delta``'s usage, which the SDK copies into the final message. A failure after
the headers is ``event: error`` with Anthropic's error body (``messages_errors.py``).
Each event has an SSE ``id:`` (``text offset.tool calls``) as on the chat endpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from activities.streams.hub import Update
from core.request import RequestResult
from worker.gateway.errors import GatewayError
from worker.gateway.live import LiveStream
from worker.gateway.messages_errors import error_event
from worker.gateway.messages_out import message_id, stop_reason, usage_body


def _sse(kind: str, data: dict[str, Any], event_id: str) -> bytes:
    return (f"event: {kind}\nid: {event_id}\ndata: ".encode() + json.dumps({"type": kind, **data},
                                                                           separators=(",", ":")).encode() + b"\n\n")


@dataclass
class MessagesLiveStream(LiveStream):
    """A :class:`LiveStream` rendered as Anthropic events (see module docstring)."""

    block: int = -1              # index of the last content block started
    open_kind: str | None = None  # "text" while a text block is open
    pinged: bool = False

    def _ev(self, kind: str, **data: Any) -> bytes:
        return _sse(kind, data, self.cursor.event_id())

    def _start(self, model: str) -> bytes:
        self.cursor.role_sent = True
        return self._ev("message_start", message={
            "id": message_id(self.workflow_id), "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}})

    def _open(self, block: dict[str, Any]) -> bytes:
        out = self._close()
        self.block += 1
        self.open_kind = block["type"]
        out += self._ev("content_block_start", index=self.block, content_block=block)
        if not self.pinged:
            self.pinged = True
            out += self._ev("ping")
        return out

    def _close(self) -> bytes:
        if self.open_kind is None:
            return b""
        self.open_kind = None
        return self._ev("content_block_stop", index=self.block)

    def render(self, upd: Update) -> bytes:
        """The events of one update; advances the cursor and the state's delivered mark."""
        out = [] if self.cursor.role_sent else [self._start(upd.model or self.model)]
        if upd.text:
            if self.open_kind != "text":
                out.append(self._open({"type": "text", "text": ""}))
            self.cursor.text += len(upd.text)
            out.append(self._ev("content_block_delta", index=self.block,
                                delta={"type": "text_delta", "text": upd.text}))
        for call in upd.tool_calls:
            out.append(self._open({"type": "tool_use", "id": call.id, "name": call.name, "input": {}}))
            self.cursor.calls += 1
            out.append(self._ev("content_block_delta", index=self.block,
                                delta={"type": "input_json_delta", "partial_json": call.arguments or "{}"}))
            out.append(self._close())
        self.state.delivered = max(self.state.delivered, self.cursor.text)
        return b"".join(out)

    def ending(self, result: RequestResult) -> bytes:
        """What the fast lane did not carry, then ``message_delta`` and ``message_stop``."""
        resp = result.response
        if resp is None or not resp.choices:
            return self.failure(GatewayError(502, f"The answer of {result.workflow_id} could not be loaded."))
        self.model = resp.model
        out = [self.render(self.missed(resp)), self._close()]
        out.append(self._ev("message_delta", delta={"stop_reason": stop_reason(resp.choices[0].finish_reason),
                                                    "stop_sequence": None}, usage=usage_body(resp.usage)))
        out.append(self._ev("message_stop"))
        return b"".join(out)

    def failure(self, err: GatewayError) -> bytes:
        """The ``event: error`` that ends a stream which cannot be completed."""
        return error_event(err)
