"""``SwitchyardClient.stream(inp)``: a request's answer as it is generated, for a Temporal-client caller.

    async for upd in sy.stream(RequestInput(request=ChatRequest(messages=[...]))):
        print(upd.text, end="", flush=True)      # text as it arrives (rescues glued in)
        if upd.result:                           # the last update: the durable RequestResult
            print(upd.result.trace.target_used)

The attempt publishes to this process's hub when it runs here (eager start on a worker this
process hosts) and otherwise to the configured shared channel (``streams:`` in the config; the
database by default), which the client's :class:`worker.stream_reader.StreamReader` watches.
Whatever the fast lane missed comes from the durable answer in the last update, so the joined
``text`` of all updates is always the whole answer. A failure raises
:class:`worker.submit.RequestFailed` after the text received so far.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.chat import FunctionCall, ToolCall
from core.ids import request_workflow_id
from core.request import RequestInput, RequestResult
from worker.stream_reader import StreamReader, follow_until

if TYPE_CHECKING:
    from worker.submit import SwitchyardClient


@dataclass
class StreamUpdate:
    """New ``text`` and complete ``tool_calls`` since the previous update; ``model``: the model
    that produced them; ``result``: set on the last update only."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    model: str | None = None
    result: RequestResult | None = None


async def stream_request(sy: SwitchyardClient, reader: StreamReader, inp: RequestInput, *,
                         eager: bool = True) -> AsyncIterator[StreamUpdate]:
    """See module docstring."""
    inp = inp.model_copy(update={"request": inp.request.model_copy(update={"stream": True})})
    wf_id = request_workflow_id(inp.tenant, inp.idempotency_key)
    state = reader.open(wf_id)
    result: asyncio.Task[RequestResult] | None = None
    try:
        handle = await sy.start(inp, eager=eager, workflow_id=wf_id)
        result = asyncio.ensure_future(sy.result(handle))
        sent, calls = 0, 0
        async for upd in follow_until(state.follow(), result):
            if upd is None:
                continue
            sent += len(upd.text)
            calls += len(upd.tool_calls)
            yield StreamUpdate(text=upd.text, model=upd.model, tool_calls=[
                ToolCall(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments)) for c in upd.tool_calls])
        final = await result
        msg = final.response.choices[0].message if final.response and final.response.choices else None
        yield StreamUpdate(text=((msg.content or "") if msg else "")[sent:],
                           tool_calls=list((msg.tool_calls or []) if msg else [])[calls:],
                           model=final.response.model if final.response else None, result=final)
    finally:
        if result is not None and not result.done():
            result.cancel()
        reader.release(state)
