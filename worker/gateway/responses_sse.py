"""``POST /v1/responses`` with ``stream: true``: the Responses API's typed events, driven live.

The timeline (failover before the first token invisible, rescue after it, keep-alives, the
durable answer at the end) is ``live.py``'s; this class renders it as the Responses stream
(OpenAI API reference, "Streaming events"), every event with a ``sequence_number``::

    response.created / response.in_progress        {response: {..., status: in_progress, output: []}}
    response.output_item.added                     {output_index, item: message, in progress}
    response.content_part.added                    {item_id, output_index, content_index: 0, part}
    response.output_text.delta                     {item_id, output_index, content_index, delta}
    response.output_text.done / content_part.done / output_item.done
    response.output_item.added (function_call), response.function_call_arguments.delta / .done,
    response.output_item.done                      one per tool call, arguments whole
    response.completed                             {response: the full response object}

A failure after the headers ends the stream with ``error`` and ``response.failed``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from activities.streams.hub import Update
from core.chat import FunctionCall, ToolCall
from core.request import RequestResult
from worker.gateway.errors import GatewayError
from worker.gateway.live import LiveStream
from worker.gateway.responses_out import call_item, message_item, response_body, response_id


@dataclass
class ResponsesLiveStream(LiveStream):
    """A :class:`LiveStream` rendered as Responses events (see module docstring). ``echo``,
    ``previous`` and ``store`` complete the response objects; ``final`` is the completed body
    (for storing once the stream ends)."""

    echo: dict[str, Any] = field(default_factory=dict)
    previous: str | None = None
    store: bool = True
    seq: int = 0
    index: int = -1                 # output index of the last item added
    text_open: bool = False
    text: str = ""
    final: dict[str, Any] | None = None
    result_seen: RequestResult | None = None

    @property
    def rid(self) -> str:
        return response_id(self.workflow_id)

    def _ev(self, kind: str, **data: Any) -> bytes:
        body = {"type": kind, "sequence_number": self.seq, **data}
        self.seq += 1
        return (f"event: {kind}\nid: {self.cursor.event_id()}\ndata: ".encode()
                + json.dumps(body, separators=(",", ":")).encode() + b"\n\n")

    def _shell(self) -> dict[str, Any]:
        return response_body(self.rid, None, {**self.echo, "model": self.model}, previous=self.previous,
                             store=self.store, status="in_progress", created_at=self.created)

    def _begin(self) -> bytes:
        self.cursor.role_sent = True
        return self._ev("response.created", response=self._shell()) + self._ev("response.in_progress",
                                                                                 response=self._shell())

    def _close_text(self) -> bytes:
        if not self.text_open:
            return b""
        self.text_open = False
        item = message_item(self.rid, self.text)
        iid = item["id"]
        part = item["content"][0]
        return (self._ev("response.output_text.done", item_id=iid, output_index=self.index, content_index=0,
                         text=self.text, logprobs=[])
                + self._ev("response.content_part.done", item_id=iid, output_index=self.index, content_index=0,
                           part=part)
                + self._ev("response.output_item.done", output_index=self.index, item=item))

    def render(self, upd: Update) -> bytes:
        """The events of one update; advances the cursor and the state's delivered mark."""
        out = [] if self.cursor.role_sent else [self._begin()]
        if upd.text:
            if not self.text_open:
                self.index += 1
                self.text_open = True
                item = message_item(self.rid, "", status="in_progress")
                item["content"] = []
                out.append(self._ev("response.output_item.added", output_index=self.index, item=item))
                out.append(self._ev("response.content_part.added", item_id=item["id"], output_index=self.index,
                                    content_index=0, part={"type": "output_text", "text": "", "annotations": []}))
            self.cursor.text += len(upd.text)
            self.text += upd.text
            out.append(self._ev("response.output_text.delta", item_id="msg_" + self.rid.removeprefix("resp_"),
                                output_index=self.index, content_index=0, delta=upd.text, logprobs=[]))
        for piece in upd.tool_calls:
            out.append(self._close_text())
            self.index += 1
            call = ToolCall(id=piece.id, function=FunctionCall(name=piece.name, arguments=piece.arguments or "{}"))
            item = call_item(self.rid, self.cursor.calls, call)
            started = {**item, "arguments": "", "status": "in_progress"}
            out.append(self._ev("response.output_item.added", output_index=self.index, item=started))
            out.append(self._ev("response.function_call_arguments.delta", item_id=item["id"],
                                output_index=self.index, delta=item["arguments"]))
            out.append(self._ev("response.function_call_arguments.done", item_id=item["id"], output_index=self.index,
                                arguments=item["arguments"], name=item["name"]))
            out.append(self._ev("response.output_item.done", output_index=self.index, item=item))
            self.cursor.calls += 1
        self.state.delivered = max(self.state.delivered, self.cursor.text)
        return b"".join(out)

    def ending(self, result: RequestResult) -> bytes:
        """What the fast lane did not carry, then ``response.completed`` with the whole object."""
        resp = result.response
        if resp is None or not resp.choices:
            return self.failure(GatewayError(502, f"The answer of {result.workflow_id} could not be loaded."))
        self.model = resp.model
        out = [self.render(self.missed(resp)), self._close_text()]
        self.final = response_body(self.rid, resp, self.echo, previous=self.previous, store=self.store,
                                   created_at=self.created)
        self.result_seen = result
        out.append(self._ev("response.completed", response=self.final))
        return b"".join(out)

    def failure(self, err: GatewayError) -> bytes:
        """``error`` then ``response.failed``: the stream cannot be completed."""
        failed = {**self._shell(), "status": "failed", "error": {"code": err.code or err.type, "message": err.message}}
        begin = b"" if self.cursor.role_sent else self._begin()
        return (begin + self._ev("error", code=err.code or err.type, message=err.message, param=err.param)
                + self._ev("response.failed", response=failed))
