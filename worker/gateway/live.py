"""``stream: true`` answered live: deltas as the attempt produces them, the durable answer at the end.

Timeline of one streamed response (``shared/STREAMING.md``):

1. The stream key (the workflow id) is opened in the process's hub *before* the workflow starts.
2. **Before the first token** nothing is sent for up to ``KEEPALIVE_S``: a request that fails that
   soon gets an ordinary HTTP error (status, OpenAI error body, Retry-After). After that the 200
   headers go out and an SSE comment (``: keep-alive``) every ``KEEPALIVE_S`` while the first token
   is awaited (proxies drop idle connections; a reasoning model can think for minutes).
3. Each update becomes one ``chat.completion.chunk`` (same ``id`` and ``created`` throughout; the
   ``model`` of the target that produced it), with an SSE ``id: <text offset>.<tool calls>`` so a
   client can resume with ``Last-Event-ID``. Tool calls arrive whole (held until complete).
4. When the workflow ends: what the fast lane missed is sent from the durable answer (nothing is
   lost if the lane is), then the finish chunk, the usage chunk (``stream_options.include_usage``)
   and ``data: [DONE]``. A failure after the headers is an OpenAI-shaped error event
   (``data: {"error": {...}}``), which the official SDKs raise, and no ``[DONE]``.

A client that disconnects cancels the workflow (and so the upstream call) unless the request has
an Idempotency-Key: then generation goes on, and a reconnect with the same key resumes from the
client's ``Last-Event-ID`` (or from where the previous connection stopped).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import WorkflowHandle

from activities.streams.events import ToolCallPiece
from activities.streams.hub import StreamState, Update
from core.chat import ChatResponse, ToolCall
from core.request import RequestResult
from worker.gateway.errors import GatewayError
from worker.stream_reader import follow_until
from worker.submit import RequestFailed

log = logging.getLogger("switchyard.gateway")

#: Seconds between SSE keep-alive comments while the first token is awaited; also how long an
#: early failure can still be answered as a plain HTTP error.
KEEPALIVE_S = 2.0
#: How long a finished stream of a keyed request stays resumable in this process (s).
RESUME_KEEP_S = 300.0


@dataclass
class Cursor:
    """Where the client is: chars of text and tool calls sent (the SSE event id ``text.calls``)."""

    text: int = 0
    calls: int = 0
    role_sent: bool = False

    @classmethod
    def parse(cls, last_event_id: str | None) -> Cursor:
        """From a ``Last-Event-ID`` header (``"123.1"``); a bad or missing value is the start."""
        try:
            text, _, calls = (last_event_id or "").partition(".")
            return cls(max(0, int(text)), max(0, int(calls or 0)), role_sent=bool(last_event_id))
        except ValueError:
            return cls()

    def event_id(self) -> str:
        return f"{self.text}.{self.calls}"


@dataclass
class LiveStream:
    """One streamed response (see module docstring)."""

    workflow_id: str
    handle: WorkflowHandle[Any, RequestResult] | None  # None: the workflow outlives the stream (a turn)
    result: asyncio.Task[RequestResult]
    state: StreamState
    include_usage: bool
    chunk_id: str
    created: int
    model: str
    cursor: Cursor = field(default_factory=Cursor)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, model: str | None = None) -> bytes:
        body: dict[str, Any] = {"id": self.chunk_id, "object": "chat.completion.chunk", "created": self.created,
                                "model": model or self.model, "system_fingerprint": None,
                                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if self.include_usage:
            body["usage"] = None
        return _event(body, self.cursor.event_id())

    def render(self, upd: Update) -> bytes:
        """The SSE bytes of one update; advances the cursor and the state's delivered mark."""
        out = []
        if not self.cursor.role_sent:
            self.cursor.role_sent = True
            out.append(self._chunk({"role": "assistant", "content": ""}, model=upd.model))
        if upd.text:
            self.cursor.text += len(upd.text)
            out.append(self._chunk({"content": upd.text}, model=upd.model))
        for call in upd.tool_calls:
            self.cursor.calls += 1
            out.append(self._chunk({"tool_calls": [{"index": call.index, "id": call.id, "type": "function",
                                                    "function": {"name": call.name, "arguments": call.arguments}}]},
                                   model=call.model))
        self.state.delivered = max(self.state.delivered, self.cursor.text)
        return b"".join(out)

    def ending(self, result: RequestResult) -> bytes:
        """What the fast lane did not carry, the finish chunk, the usage chunk and ``[DONE]``."""
        resp = result.response
        if resp is None or not resp.choices:
            return self.failure(GatewayError(502, f"The answer of {result.workflow_id} could not be loaded."))
        self.model = resp.model
        rest = self.missed(resp)
        out = [self.render(rest) if (rest.text or rest.tool_calls or not self.cursor.role_sent) else b""]
        out.append(self._chunk({}, resp.choices[0].finish_reason or "stop"))
        if self.include_usage:
            usage = {k: v for k, v in resp.usage.model_dump(mode="json").items() if v is not None and k != "estimated"}
            out.append(_event({"id": self.chunk_id, "object": "chat.completion.chunk", "created": self.created,
                               "model": self.model, "system_fingerprint": None, "choices": [], "usage": usage}))
        out.append(b"data: [DONE]\n\n")
        return b"".join(out)

    def missed(self, resp: ChatResponse) -> Update:
        """What of the durable answer ``resp`` (one choice) the client has not been sent yet."""
        msg = resp.choices[0].message
        rest = Update(text=(msg.content or "")[self.cursor.text:], model=resp.model)
        rest.tool_calls = [_piece(i, tc, resp.model) for i, tc in enumerate(msg.tool_calls or [])
                           if i >= self.cursor.calls]
        return rest

    def failure(self, err: GatewayError) -> bytes:
        """The OpenAI-shaped error event that ends a stream that cannot be completed."""
        body = json.loads(err.response().body)
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def _piece(index: int, tc: ToolCall, model: str) -> ToolCallPiece:
    return ToolCallPiece(index, tc.id, tc.function.name, tc.function.arguments, 0, "", model)


def _event(body: dict[str, Any], event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n".encode() if event_id else b""
    return head + b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def stream_id(workflow_id: str) -> str:
    """The ``chatcmpl-...`` id of every chunk of one stream (stable per workflow, so a resumed
    stream keeps its id)."""
    return "chatcmpl-" + workflow_id.removeprefix("req-").replace("/", "-")[-48:]


async def first_update(live: LiveStream, updates: AsyncIterator[Update],
                       wait_s: float) -> tuple[Update | None, asyncio.Task[Update] | None]:
    """Wait up to ``wait_s`` for the first update or the end of the workflow, whichever is first.
    Returns ``(update, None)``, or ``(None, pending next-update task)`` when nothing came yet."""
    nxt: asyncio.Task[Update] = asyncio.ensure_future(anext(updates))  # type: ignore[arg-type]
    await asyncio.wait({nxt, live.result}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    if nxt.done() and not nxt.cancelled() and nxt.exception() is None:
        return nxt.result(), None
    return None, nxt


async def body(live: LiveStream, updates: AsyncIterator[Update], first: Update | None,
               pending: asyncio.Task[Update] | None,
               to_error: Callable[[RequestFailed], GatewayError]) -> AsyncIterator[bytes]:
    """The SSE body after the headers: updates as they come, keep-alives while none does, then the
    ending from the durable answer (or an error event). ``to_error`` maps a failure to a
    :class:`GatewayError`."""
    if first is not None:
        yield live.render(first)
    async for upd in follow_until(updates, live.result, idle_s=KEEPALIVE_S, pending=pending):
        # a comment line without the blank line: with an ``id:`` seen, the SDKs' SSE decoders
        # dispatch an empty event at a blank line and fail to parse it as JSON
        yield b": keep-alive\n" if upd is None else live.render(upd)
    try:
        result = await live.result
    except RequestFailed as e:
        yield live.failure(to_error(e))
        return
    except Exception as e:  # noqa: BLE001 - the stream must end with an error the SDK raises
        log.warning("stream of %s ended without an answer: %s", live.workflow_id, e)
        yield live.failure(GatewayError(503, f"The request's workflow {live.workflow_id} ended without an answer: "
                                             f"{type(e).__name__}", code="workflow_failed"))
        return
    yield live.ending(result)


def created_now() -> int:
    """``created`` of a new stream (unix s)."""
    return int(time.time())
