"""One streamed provider call under the stream timeouts, glued and published as it arrives.

``await streamed_call(adapter, http, call, glue)``:

- upstream in streaming mode (``activities/providers/streaming.py::stream_complete``), each delta
  through the :class:`activities.stream_glue.Glue` (held tool calls, trimmed overlap) to the sink;
- **first-token timeout** (``target.first_token_s``): no content or tool-call delta that soon after
  the call started -> ``Timeout`` ("no first token within ..."), invisible to the client;
- **idle timeout** (``target.stream_idle_s``): after the first token, no delta for that long ->
  ``Timeout`` ("stream stalled ..."), which starts a rescue;
- the whole-answer ``timeout_s`` stays the caller's (``activities/attempt.py``).

Returns the :class:`AdapterResult` whose answer is the **glued** one when the call continued a
partial answer (text = partial + continuation without overlap; tool calls = the partial's + new);
raises :class:`StreamFailed` (the classified ``ProviderError`` plus what the client has received).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from activities.providers.base import AdapterResult, ProviderCall, ProviderError
from activities.providers.common import HttpAdapter
from activities.providers.stream_base import StreamDelta
from activities.providers.streaming import stream_complete
from activities.stream_glue import Glue
from core.chat import ChatResponse
from core.errors import ErrorClass


class StreamFailed(Exception):
    """A streamed call failed: ``error`` is the classified failure; ``glue`` holds what was sent."""

    def __init__(self, error: ProviderError, glue: Glue) -> None:
        super().__init__(error.message)
        self.error = error
        self.glue = glue


class _Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first: float | None = None
        self.last = self.started
        self.deltas = 0


async def streamed_call(adapter: HttpAdapter, http: httpx.AsyncClient, call: ProviderCall, glue: Glue) -> AdapterResult:
    """See module docstring; raises :class:`StreamFailed` only (``CallerCancelled`` when the local
    reader sets its abort event: the client disconnected, the upstream call is dropped at once)."""
    progress = _Progress()

    def on_delta(delta: StreamDelta) -> None:
        now = time.monotonic()
        if delta.content or delta.tool_calls:
            progress.first = progress.first or now
            progress.last = now
            progress.deltas += 1
        glue.feed(delta)

    task = asyncio.ensure_future(stream_complete(adapter, http, call, on_delta))
    try:
        result = await _watch(task, progress, call, glue.sink.abort if glue.sink is not None else None)
    except ProviderError as err:
        raise StreamFailed(err, glue) from None
    except asyncio.CancelledError:
        task.cancel()
        raise
    glue.finish()
    if glue.rescue is not None:
        result.response = _glued(result.response, glue)
    return result


async def _watch(task: asyncio.Future[AdapterResult], progress: _Progress, call: ProviderCall,
                 abort: asyncio.Event | None) -> AdapterResult:
    """Await ``task`` while enforcing the first-token and idle timeouts and the reader's abort."""
    first_s, idle_s = call.target.first_token_s, call.target.stream_idle_s
    aborted = asyncio.ensure_future(abort.wait()) if abort is not None else None
    try:
        while True:
            result = await _watch_step(task, progress, first_s, idle_s, aborted)
            if result is not None:
                return result
    finally:
        if aborted is not None:
            aborted.cancel()


async def _watch_step(task: asyncio.Future[AdapterResult], progress: _Progress, first_s: float, idle_s: float,
                      aborted: asyncio.Future[object] | None) -> AdapterResult | None:
    """One wait of :func:`_watch`: the result, ``None`` to wait again, or a raised failure."""
    deadline = progress.started + first_s if progress.first is None else progress.last + idle_s
    waiting = {task} if aborted is None else {task, aborted}
    done, _ = await asyncio.wait(waiting, timeout=max(0.0, deadline - time.monotonic()),
                                 return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        return task.result()
    if aborted is not None and aborted in done:
        await _cancel(task)
        raise ProviderError(ErrorClass.CALLER_CANCELLED, "the streaming client disconnected")
    now = time.monotonic()
    if progress.first is None and now >= progress.started + first_s:
        await _cancel(task)
        raise ProviderError(ErrorClass.TIMEOUT, f"no first token within {first_s:g} s (first_token_timeout_s)")
    if progress.first is not None and now >= progress.last + idle_s:
        await _cancel(task)
        raise ProviderError(ErrorClass.TIMEOUT, f"stream stalled: no delta for {idle_s:g} s after "
                                                f"{progress.deltas} delta(s) (stream_idle_timeout_s)", status=200)
    return None


async def _cancel(task: asyncio.Future[AdapterResult]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


def _glued(response: ChatResponse, glue: Glue) -> ChatResponse:
    """``response`` (the continuation alone) turned into the whole answer the client received."""
    assert glue.rescue is not None
    choices = list(response.choices)
    if not choices:
        return response
    msg = choices[0].message
    calls = [*glue.rescue.tool_calls, *glue.calls]
    glued_msg = msg.model_copy(update={"content": glue.glued_text() or None, "tool_calls": calls or None})
    choices[0] = choices[0].model_copy(update={"message": glued_msg})
    return response.model_copy(update={"choices": choices})
