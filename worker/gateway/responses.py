"""``POST /v1/responses``: the stateless core of OpenAI's Responses API on the durable chat path.

Pipeline: authenticate -> read and validate the body (``responses_in.py``; unsupported features
are a 400 naming the field) -> resolve ``previous_response_id`` from ``stored_responses``, within
the caller's tenant (404 ``not_found`` otherwise) -> the chat endpoint's ``build_request`` /
:func:`worker.gateway.chat.run` / ``stream_live`` (so ``model`` picks a route, its fallback chain
may answer from any protocol's target, and Idempotency-Key, tenant and priority headers work the
same) -> the ``response`` object (``responses_out.py``) or its typed event stream
(``responses_sse.py``), inside the same rate limits, shedding and budgets as chat (``admitted.py``)
-> with ``store`` on (the default, as OpenAI's), the chat chain is stored
so a next request can continue it with ``previous_response_id``. Errors are OpenAI-shaped.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from activities.storage.response_store import ResponseStore
from core.chat import ChatMessage, ChatResponse
from worker.gateway.admitted import serve_admitted
from worker.gateway.auth import authenticate
from worker.gateway.body import read_body
from worker.gateway.chat import run
from worker.gateway.errors import GatewayError
from worker.gateway.headers import trace_headers
from worker.gateway.inputs import GatewayRequest, build_request
from worker.gateway.responses_in import ResponsesRequest, parse_responses
from worker.gateway.responses_out import response_body, response_id
from worker.gateway.responses_sse import ResponsesLiveStream
from worker.gateway.state import Gateway
from worker.gateway.stream import stream_live


def answer_messages(resp: ChatResponse) -> list[ChatMessage]:
    """The assistant turn of an answer, as it is replayed to the next request of the chain."""
    msg = resp.choices[0].message
    return [ChatMessage(role="assistant", content=msg.content, tool_calls=msg.tool_calls or None)]


async def create_response(request: Request) -> Response:
    """The endpoint (see module docstring)."""
    started = time.perf_counter()
    gw: Gateway = request.app.state.gateway
    cfg, models = gw.config()
    caller = await authenticate(request, gw, cfg)
    rr = parse_responses(await read_body(request, cfg.gateway.max_body_bytes))
    greq = build_request(rr.chat, request.headers, caller, cfg, models)
    store = ResponseStore(gw.services.engine)
    chain: list[ChatMessage] = []
    if rr.previous_response_id:
        found = await store.chain(rr.previous_response_id, greq.inp.tenant)
        if found is None:
            raise GatewayError(404, f"Previous response with id '{rr.previous_response_id}' not found.",
                               param="previous_response_id", code="previous_response_not_found")
        chain = found
    system = [ChatMessage(role="system", content=rr.instructions)] if rr.instructions else []
    messages = system + chain + rr.input_messages
    greq = GatewayRequest(inp=greq.inp.model_copy(update={
        "request": greq.inp.request.model_copy(update={"messages": messages}),
        "metadata": {**greq.inp.metadata, "api": "responses"}}), route=greq.route, stream=rr.stream,
        include_usage=False)
    history = chain + rr.input_messages

    async def answer(g: GatewayRequest) -> tuple[Response, int | None]:
        if rr.stream:
            return await _stream(gw, g, rr, started, request, store, history), None
        return await _complete(gw, g, rr, started, store, history)
    return await serve_admitted(gw, cfg, greq, caller, answer, cache=False)


async def _complete(gw: Gateway, greq: GatewayRequest, rr: ResponsesRequest, started: float, store: ResponseStore,
                    history: list[ChatMessage]) -> tuple[Response, int | None]:
    result = await run(gw, greq, started)
    headers = trace_headers(result.workflow_id, greq.inp.tenant, result.trace, started)
    if result.response is None:
        raise GatewayError(502, f"The answer of {result.workflow_id} could not be loaded.", headers=headers)
    rid = response_id(result.workflow_id)
    body = response_body(rid, result.response, {**rr.echo, "model": rr.model}, previous=rr.previous_response_id,
                         store=rr.store)
    if rr.store:
        await store.save(rid, greq.inp.tenant, result.workflow_id, history + answer_messages(result.response), body)
    return JSONResponse(body, headers=headers), result.response.usage.total_tokens


async def _stream(gw: Gateway, greq: GatewayRequest, rr: ResponsesRequest, started: float, request: Request,
                  store: ResponseStore, history: list[ChatMessage]) -> Response:
    if gw.services.reader is None:
        raise GatewayError(400, "stream: true needs this gateway's stream reader.", param="stream")
    made: list[ResponsesLiveStream] = []

    def make(**kw: Any) -> ResponsesLiveStream:
        live = ResponsesLiveStream(**kw, echo={**rr.echo, "model": rr.model}, previous=rr.previous_response_id,
                                   store=rr.store)
        made.append(live)
        return live

    resp = await stream_live(gw, greq, started, request.headers, live_class=make)  # type: ignore[arg-type]
    if rr.store and isinstance(resp, StreamingResponse):
        resp.body_iterator = _then_store(resp.body_iterator, made, store, greq.inp.tenant, history)
    return resp


async def _then_store(body: AsyncIterator[Any], made: list[ResponsesLiveStream], store: ResponseStore, tenant: str,
                      history: list[ChatMessage]) -> AsyncIterator[Any]:
    async for chunk in body:
        yield chunk
    live = made[0] if made else None
    if live is not None and live.final is not None and live.result_seen is not None \
            and live.result_seen.response is not None:
        await store.save(live.rid, tenant, live.workflow_id, history + answer_messages(live.result_seen.response),
                         live.final)
