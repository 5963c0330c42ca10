"""``POST /v1/chat/completions``: one HTTP request -> one durable ``AIRequestWorkflow``.

Pipeline, each step one function that either returns or raises
:class:`worker.gateway.errors.GatewayError`: authenticate (``auth.py``) -> read the body under the
size limit and validate it (``body.py``) -> headers and metadata to a ``RequestInput``
(``inputs.py``) -> rate limits per key and tenant (``ratelimit.py``) -> load shedding by priority
(``shedding.py``: a slot, a brownout route, the cache hook's answer or a 429) -> money budgets
(``budget.py``: reserve the estimate, settled after the answer) -> plan the request
(``plan_ahead.py``) -> start the workflow with its plan eagerly on this process's worker and
wait for its first attempt's early answer or its result (:func:`run`, ``early.py``) -> the
answer as ``chat.completion`` JSON or as an SSE stream (``sse.py``), with the trace headers
(``headers.py``). Nothing reaches Temporal before the request is known good and admitted.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from activities.head_start import HeadStart
from core.attempt import AttemptResult
from core.request import RequestInput, RequestResult
from worker.gateway.admitted import serve_admitted
from worker.gateway.auth import authenticate
from worker.gateway.body import parse_chat, read_body
from worker.gateway.conversation import conversation_id, run_turn, stream_turn_live
from worker.gateway.early import first_answer, may_answer_early
from worker.gateway.errors import GatewayError, from_failure, key_reused, unavailable
from worker.gateway.head_start import head_start
from worker.gateway.headers import trace_headers
from worker.gateway.inputs import GatewayRequest, build_request
from worker.gateway.plan_ahead import plan_ahead
from worker.gateway.sse import completion_body, sse_body
from worker.gateway.state import Gateway
from worker.gateway.stream import stream_live
from worker.idempotency import IdempotencyConflict, check_same_request
from worker.submit import RequestFailed

log = logging.getLogger("switchyard.gateway")


async def chat_completions(request: Request) -> Response:
    """The endpoint (see module docstring)."""
    started = time.perf_counter()
    gw: Gateway = request.app.state.gateway
    cfg, models = gw.config()
    caller = await authenticate(request, gw, cfg)
    chat = parse_chat(await read_body(request, cfg.gateway.max_body_bytes))
    greq = build_request(chat, request.headers, caller, cfg, models)
    return await serve_admitted(gw, cfg, greq, caller, lambda g: _answer(gw, g, started, request))


async def _answer(gw: Gateway, greq: GatewayRequest, started: float,
                  request: Request) -> tuple[Response, int | None]:
    """The response for an admitted request and the tokens it used (``None`` for a live stream,
    whose usage the gateway does not see: its estimate stands)."""
    conv_id = conversation_id(request.headers)
    if greq.stream and gw.services.reader is not None:
        if conv_id:
            return await stream_turn_live(gw, greq, conv_id, started, request.headers), None
        return await stream_live(gw, greq, started, request.headers), None
    if conv_id:  # one turn of a conversation: the body holds only the new messages (conversation.py)
        result, extra = await run_turn(gw, greq, conv_id, started, request.headers)
    else:
        result, extra = await run(gw, greq, started), {}
    headers = {**trace_headers(result.workflow_id, greq.inp.tenant, result.trace, started), **extra}
    resp = result.response
    if resp is None:  # stored answer the client helper could not resolve: should not happen
        raise GatewayError(502, f"The answer of {result.workflow_id} could not be loaded.", headers=headers)
    if resp.usage.estimated:
        headers["x-switchyard-usage-estimated"] = "true"
    if greq.stream:
        return Response(sse_body(resp, greq.include_usage), media_type="text/event-stream",
                        headers={**headers, "cache-control": "no-cache"}), resp.usage.total_tokens
    return JSONResponse(completion_body(resp), headers=headers), resp.usage.total_tokens


async def run(gw: Gateway, greq: GatewayRequest, started: float) -> RequestResult:
    """Start (or attach to, for a known Idempotency-Key) the workflow and wait for its result.

    Raises :class:`GatewayError`: the workflow's own failure with its status, or 503 when Temporal
    cannot be reached or the execution ended without a result (terminated, timed out)."""
    if gw.in_flight is None:
        return await _run(gw, greq, started)
    deadline = greq.inp.deadline_s or gw.config()[0].routes[greq.route].deadline_s
    try:  # a queue in the gateway, not in Temporal, bounded by the request's own deadline
        await asyncio.wait_for(gw.in_flight.acquire(), timeout=deadline)
    except TimeoutError:
        raise GatewayError(429, f"The gateway runs {gw.config()[0].gateway.max_in_flight_workflows} requests at "
                                f"once and none finished within this request's {deadline:g} s deadline; retry "
                                "later.", code="overloaded", retry_after_s=1.0) from None
    try:
        return await _run(gw, greq, started)
    finally:
        gw.in_flight.release()


async def _run(gw: Gateway, greq: GatewayRequest, started: float) -> RequestResult:
    inp, wf_id = await plan_ahead(gw, greq.inp)
    early = gw.services.early.expect(wf_id) if wf_id and gw.services.early and may_answer_early(gw, inp) else None
    try:
        return await _started(gw, greq, inp, wf_id, early, started)
    finally:
        if early is not None and wf_id and gw.services.early:
            gw.services.early.discard(wf_id)


async def _started(gw: Gateway, greq: GatewayRequest, inp: RequestInput, wf_id: str | None,
                   early: asyncio.Future[AttemptResult | None] | None, started: float) -> RequestResult:
    head = None
    if early is not None and wf_id:  # the first call begins now, the workflow's first attempt adopts it
        inp, head = head_start(gw, inp, wf_id)
    try:
        return await _answered(gw, greq, inp, wf_id, early, started, head)
    finally:  # no workflow started: the try still writes its outcome row, without a run id
        if head is not None:
            head.started("")


async def _answered(gw: Gateway, greq: GatewayRequest, inp: RequestInput, wf_id: str | None,
                    early: asyncio.Future[AttemptResult | None] | None, started: float,
                    head: HeadStart | None) -> RequestResult:
    try:
        handle = await gw.sy.start(inp, eager=True, rerun_failed=True, fresh_id=wf_id)
        if head is not None:
            head.started(handle.result_run_id or "")
        if greq.inp.idempotency_key:
            await check_same_request(handle, greq.inp)
    except IdempotencyConflict as e:
        raise key_reused(e) from None
    except RPCError as e:
        log.warning("starting a request workflow failed: %s", e)
        raise unavailable(f"The request could not be started: Temporal is unreachable ({e.status.name}).") from None
    try:
        return await first_answer(gw, handle, inp.plan, early, started, inp.deadline_s)
    except RequestFailed as e:
        headers = trace_headers(handle.id, greq.inp.tenant, e.failure.trace, started)
        raise from_failure(e.failure, headers) from None
    except WorkflowFailureError as e:
        headers = trace_headers(handle.id, greq.inp.tenant, None, started)
        raise GatewayError(503, f"The request's workflow {handle.id} ended without an answer: {e.cause}",
                           code="workflow_failed", retry_after_s=1.0, headers=headers) from None
    except RPCError as e:
        log.warning("waiting for %s failed: %s", handle.id, e)
        raise unavailable(f"Lost contact with Temporal while waiting for {handle.id}; retrying with the same "
                          "Idempotency-Key attaches to it.") from None
