"""``POST /v1/chat/completions`` with ``stream: true``: start the request and answer it live.

The timeline of the response is in ``live.py``; this module does the set-up around it: open the
stream key before the workflow starts (so the attempt, eagerly run in this process, publishes to
this process's hub), start or attach (Idempotency-Key), hold the response back for up to
``live.KEEPALIVE_S`` so an early failure is still a plain HTTP error, then hand the body to
Starlette. On client disconnect the workflow is cancelled (the attempt's HTTP call with it) unless
the request is keyed; a keyed request's stream stays resumable for ``live.RESUME_KEEP_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response, StreamingResponse
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from activities.streams.hub import StreamState, Update
from core.ids import request_workflow_id
from core.request import RequestInput, RequestResult, RoutingTrace
from worker.gateway.errors import GatewayError, from_failure, key_reused, unavailable
from worker.gateway.headers import trace_headers
from worker.gateway.inputs import GatewayRequest
from worker.gateway.live import (
    KEEPALIVE_S,
    RESUME_KEEP_S,
    Cursor,
    LiveStream,
    body,
    created_now,
    first_update,
    stream_id,
)
from worker.gateway.state import Gateway
from worker.idempotency import IdempotencyConflict, check_same_request
from worker.stream_reader import StreamReader
from worker.submit import RequestFailed

log = logging.getLogger("switchyard.gateway")


async def stream_live(gw: Gateway, greq: GatewayRequest, started: float, headers: Mapping[str, str],
                      live_class: type[LiveStream] = LiveStream) -> Response:
    """The streamed response (see module docstring). Raises :class:`GatewayError` for failures
    known before the first byte (start refused, key reused with another body, early failure).
    ``live_class`` renders the events (``LiveStream``: Chat Completions chunks; ``/v1/messages``
    passes Anthropic's, ``messages_sse.py``)."""
    cfg, _ = gw.config()
    keyed = greq.inp.idempotency_key is not None
    inp = greq.inp.model_copy(update={
        "request": greq.inp.request.model_copy(update={"stream": True}),
        "stream_shared": keyed and cfg.streams.channel == "redis"})
    wf_id = request_workflow_id(inp.tenant, inp.idempotency_key)
    state = _reader(gw).open(wf_id, remote=False)
    cursor = Cursor.parse(headers.get("last-event-id"))
    if keyed and not headers.get("last-event-id") and state.delivered:
        cursor = Cursor(text=state.delivered, calls=len(state.tool_calls), role_sent=True)
    try:
        handle = await _start(gw, inp, wf_id)
    except BaseException:
        _release(gw, state, 0)
        raise
    if keyed or not getattr(handle, "__temporal_eagerly_started", False):
        # the attempt may run on another worker (no eager start, an attached execution): watch the
        # shared channel too; an eagerly started request publishes to this process's hub directly
        _reader(gw).watch_remote(state)
    live = live_class(workflow_id=wf_id, handle=handle, result=asyncio.ensure_future(gw.sy.result(handle)),
                      state=state, include_usage=greq.include_usage, chunk_id=stream_id(wf_id),
                      created=created_now(), model=greq.route, cursor=cursor)
    return await respond(gw, live, greq, started, keyed=keyed)


async def respond(gw: Gateway, live: LiveStream, greq: GatewayRequest, started: float, *, keyed: bool,
                  extra_headers: Mapping[str, str] | None = None) -> Response:
    """Hold the response back until the first update (or ``KEEPALIVE_S``), so an early failure is
    still a plain HTTP error, then stream it. Releases the state on every path."""
    updates = live.state.follow(live.cursor.text, live.cursor.calls)
    first, pending = await first_update(live, updates, KEEPALIVE_S)
    if first is None and live.result.done() and (early := _early_failure(live, greq, started)) is not None:
        _release(gw, live.state, 0)
        if pending is not None:
            pending.cancel()
        raise early
    out_headers = {**trace_headers(live.workflow_id, greq.inp.tenant, _finished_trace(live), started),
                   "x-switchyard-route": greq.route, "cache-control": "no-cache", "x-accel-buffering": "no",
                   **(extra_headers or {})}
    return StreamingResponse(_body(gw, live, updates, first, pending, keyed), media_type="text/event-stream",
                             headers=out_headers)


async def _start(gw: Gateway, inp: RequestInput, wf_id: str) -> WorkflowHandle[Any, RequestResult]:
    """Start or attach (a keyed request must be the same request); raises :class:`GatewayError`."""
    try:
        handle = await gw.sy.start(inp, eager=True, rerun_failed=True, workflow_id=wf_id)
        if inp.idempotency_key:
            await check_same_request(handle, inp)
        return handle
    except IdempotencyConflict as e:
        raise key_reused(e) from None
    except RPCError as e:
        raise unavailable(f"The request could not be started: Temporal is unreachable ({e.status.name}).") from None


async def _body(gw: Gateway, live: LiveStream, updates: AsyncIterator[Update], first: Update | None,
                pending: asyncio.Task[Update] | None, keyed: bool) -> AsyncIterator[bytes]:
    """The response body; on a client disconnect (the generator is closed early) an unkeyed
    request's workflow is cancelled, a keyed one's stream is kept open for a resume."""
    finished = False
    try:
        async for piece in body(live, updates, first, pending, lambda e: from_failure(e.failure, {})):
            yield piece
        finished = True
    finally:
        running = not live.result.done()
        if not finished and not keyed and running:
            _cancel_later(live)  # the client left: stop paying for tokens nobody reads
        elif running:
            live.result.cancel()
        _release(gw, live.state, RESUME_KEEP_S if keyed else 0, close=not (keyed and running))


def _finished_trace(live: LiveStream) -> RoutingTrace | None:
    """The trace of a request already answered before the headers go out (a cache hit), else ``None``."""
    if live.result.done() and not live.result.cancelled() and live.result.exception() is None:
        return live.result.result().trace
    return None


def _early_failure(live: LiveStream, greq: GatewayRequest, started: float) -> GatewayError | None:
    """The plain HTTP error of a request that failed before anything was streamed."""
    exc = live.result.exception() if not live.result.cancelled() else None
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, RequestFailed):
        return from_failure(exc.failure, trace_headers(live.workflow_id, greq.inp.tenant, exc.failure.trace, started))
    if exc is not None:
        return GatewayError(503, f"The request's workflow {live.workflow_id} ended without an answer: {exc}",
                            code="workflow_failed", retry_after_s=1.0)
    return None


def _cancel_later(live: LiveStream) -> None:
    live.state.abort.set()  # an attempt running here drops its upstream call now
    live.result.cancel()

    if live.handle is None:
        return  # a conversation outlives its turn: only the turn's attempt stops

    async def cancel() -> None:
        with contextlib.suppress(Exception):
            if live.handle is not None:
                await live.handle.cancel()
    _background.add(task := asyncio.get_running_loop().create_task(cancel()))
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()


def _reader(gw: Gateway) -> StreamReader:
    assert gw.services.reader is not None
    return gw.services.reader


def _release(gw: Gateway, state: StreamState, keep_s: float, *, close: bool = True) -> None:
    _reader(gw).release(state, keep_s=keep_s, close=close)
