"""``POST /v1/messages``: Anthropic's Messages API on the same durable path as the chat endpoint.

Pipeline: authenticate (a gateway key in ``x-api-key``, as the ``anthropic`` SDK sends it, or
``Authorization: Bearer``; ``auth.py``) -> read the body under the size limit (``body.py``) ->
validate it as a Messages request (``messages_body.py``) -> translate it to the internal
:class:`core.chat.ChatRequest` (``messages_in.py``) -> the chat endpoint's own
``build_request`` / :func:`worker.gateway.chat.run` / ``stream_live``, so the ``model`` picks a
route (``model_map.py``), the route's fallback chain may answer from any protocol's target, and
Idempotency-Key, tenant, priority and conversation headers and the trace headers work the same,
inside the same rate limits, shedding and budgets (``admitted.py``).
The answer is an Anthropic ``message`` (``messages_out.py``) or its event stream
(``messages_sse.py``); every error is in Anthropic's error shape (``messages_errors.py``).

``anthropic-version`` and ``anthropic-beta`` are accepted with any value and not interpreted (the
body format served is that of version ``2023-06-01``). What the translation dropped is recorded in
the request's metadata as ``gateway_notes``. ``request-id`` (read by the SDK as
``message._request_id``) is the workflow id, as ``x-request-id``.
"""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.gateway.admitted import serve_admitted
from worker.gateway.auth import authenticate
from worker.gateway.body import read_body
from worker.gateway.chat import run
from worker.gateway.conversation import conversation_id, run_turn
from worker.gateway.errors import GatewayError
from worker.gateway.headers import trace_headers
from worker.gateway.inputs import GatewayRequest, build_request
from worker.gateway.messages_body import parse_messages
from worker.gateway.messages_errors import anthropic_response
from worker.gateway.messages_in import to_chat
from worker.gateway.messages_out import message_body, message_id
from worker.gateway.messages_sse import MessagesLiveStream
from worker.gateway.state import Gateway
from worker.gateway.stream import stream_live

log = logging.getLogger("switchyard.gateway")

#: At most this many characters of translation notes are kept in the request's metadata.
MAX_NOTES = 1000


async def create_message(request: Request) -> Response:
    """The endpoint (see module docstring); never raises: errors are Anthropic-shaped responses."""
    try:
        return await _serve(request)
    except GatewayError as e:
        return anthropic_response(e)
    except Exception as e:  # noqa: BLE001 - the SDK must get its own error shape even for a bug
        log.exception("unexpected error serving POST /v1/messages")
        return anthropic_response(GatewayError(500, f"The gateway failed unexpectedly ({type(e).__name__}); "
                                                    "this is a bug, please report it."))


async def _serve(request: Request) -> Response:
    started = time.perf_counter()
    gw: Gateway = request.app.state.gateway
    cfg, models = gw.config()
    caller = await authenticate(request, gw, cfg)
    chat, notes = to_chat(parse_messages(await read_body(request, cfg.gateway.max_body_bytes)))
    greq = _with_notes(build_request(chat, request.headers, caller, cfg, models), notes)
    return await serve_admitted(gw, cfg, greq, caller, lambda g: _answer(gw, g, started, request), cache=False)


async def _answer(gw: Gateway, greq: GatewayRequest, started: float, request: Request) -> tuple[Response, int | None]:
    """The answer of an admitted request and the tokens it used (``None`` for a live stream)."""
    conv_id = conversation_id(request.headers)
    if greq.stream:
        if conv_id or gw.services.reader is None:
            raise GatewayError(400, "stream: true is not served on /v1/messages for conversation turns "
                                    "(x-switchyard-conversation-id) or without a stream reader; send it without "
                                    "streaming or use /v1/chat/completions.", param="stream")
        resp = await stream_live(gw, greq, started, request.headers, live_class=MessagesLiveStream)
        resp.headers["request-id"] = resp.headers.get("x-request-id", "")
        return resp, None
    if conv_id:
        result, extra = await run_turn(gw, greq, conv_id, started, request.headers)
    else:
        result, extra = await run(gw, greq, started), {}
    headers = {**trace_headers(result.workflow_id, greq.inp.tenant, result.trace, started), **extra,
               "request-id": result.workflow_id}
    if result.response is None:
        raise GatewayError(502, f"The answer of {result.workflow_id} could not be loaded.", headers=headers)
    if result.response.usage.estimated:
        headers["x-switchyard-usage-estimated"] = "true"
    used = result.response.usage.prompt_tokens + result.response.usage.completion_tokens
    return JSONResponse(message_body(result.response, message_id(result.workflow_id)), headers=headers), used


def _with_notes(greq: GatewayRequest, notes: list[str]) -> GatewayRequest:
    meta = {**greq.inp.metadata, "api": "messages"}
    if notes:
        meta["gateway_notes"] = "; ".join(notes)[:MAX_NOTES]
    return GatewayRequest(inp=greq.inp.model_copy(update={"metadata": meta}), route=greq.route,
                          stream=greq.stream, include_usage=False)
