"""``x-switchyard-conversation-id``: a chat-completions request that is one turn of a conversation.

With the header, the request body carries only the turn's **new** messages (the user's message; a
system message on the first turn; tool results later) and its parameters; the conversation's
workflow (``conv-<tenant>-<id>``, ``workflows/conversation.py``) holds the transcript and the pin,
so the whole history reaches the pinned target - or, after a failover, the next target in its own
protocol - without the client resending it. The route and tenant come from the request as usual
(they are fixed when the conversation starts). ``Idempotency-Key`` becomes the turn's update id, so
a retried HTTP request attaches to the same turn instead of running it twice. With ``stream: true``
the turn streams live (:func:`stream_turn_live`): the reply's deltas travel under a key of the
turn's own, through the shared channel when the conversation's workflow runs on another worker;
the conversation headers below are then not sent (they are known only at the end).

Extra response headers: ``x-switchyard-conversation-id``, ``x-switchyard-turn`` (1, 2, ...),
``x-switchyard-pinned-target`` and, on the turn that moved the pin, ``x-switchyard-pin-moved``
(``<kind>: <from> -> <to>``). Errors: a body that is not a valid turn (an assistant message, an
empty user message) is a 400; a closed conversation, a replayed or out-of-order turn a 409; no
target answering, the request path's own statuses.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.datastructures import Headers
from starlette.responses import Response
from temporalio.service import RPCError

from core.conversation import ConversationConfig, TurnResult
from core.ids import uuid7
from core.request import RequestResult
from worker.conversations import ConversationClient, TurnFailed
from worker.gateway.errors import GatewayError, from_failure, unavailable
from worker.gateway.headers import trace_headers
from worker.gateway.inputs import IDEMPOTENCY_HEADER, GatewayRequest
from worker.gateway.live import LiveStream, created_now, stream_id
from worker.gateway.state import Gateway
from worker.gateway.stream import respond
from worker.submit import RequestFailed

CONVERSATION_HEADER = "x-switchyard-conversation-id"
MAX_CONVERSATION_ID = 200
log = logging.getLogger("switchyard.gateway")


def conversation_id(headers: Headers) -> str | None:
    """The conversation id of the request (``None`` without the header); 400 when it is too long."""
    raw = (headers.get(CONVERSATION_HEADER) or "").strip()
    if not raw:
        return None
    if len(raw) > MAX_CONVERSATION_ID:
        raise GatewayError(400, f"{CONVERSATION_HEADER} is {len(raw)} characters long; at most "
                                f"{MAX_CONVERSATION_ID} are accepted.", param=CONVERSATION_HEADER)
    return raw


async def stream_turn_live(gw: Gateway, greq: GatewayRequest, conv_id: str, started: float,
                           headers: Headers) -> Response:
    """The turn as a live SSE stream (see module docstring). Raises :class:`GatewayError` for a
    failure known before the first byte. A client that disconnects stops the turn's attempt; the
    conversation itself goes on."""
    assert gw.services.reader is not None
    inp = greq.inp
    conv = ConversationClient(gw.sy.client, gw.sy.task_queue, payloads=gw.services.payloads)
    config = ConversationConfig(task_type=greq.route, tenant=inp.tenant, origin_region=inp.origin_region)
    idem = headers.get(IDEMPOTENCY_HEADER)
    wf_id = conv.workflow_id(conv_id, inp.tenant)
    key = f"{wf_id}/turn-{uuid7().hex}"
    state = gw.services.reader.open(key)

    async def reply() -> RequestResult:
        try:
            turn = await conv.send(conv_id, inp.request, config=config, update_id=f"idem-{idem}" if idem else None,
                                   stream_key=key)
        except ValueError as e:
            raise GatewayError(400, f"{e} (with {CONVERSATION_HEADER}, send only the new messages of the turn)",
                               param="messages") from None
        except TurnFailed as e:
            raise RequestFailed(wf_id, e.failure) from None
        return RequestResult(workflow_id=turn.workflow_id, response=turn.response, response_ref=turn.response_ref,
                             trace=turn.trace)

    live = LiveStream(workflow_id=wf_id, handle=None, result=asyncio.ensure_future(reply()), state=state,
                      include_usage=greq.include_usage, chunk_id=stream_id(key), created=created_now(),
                      model=greq.route)
    return await respond(gw, live, greq, started, keyed=False, extra_headers={CONVERSATION_HEADER: conv_id})


async def run_turn(gw: Gateway, greq: GatewayRequest, conv_id: str, started: float,
                   headers: Headers) -> tuple[RequestResult, dict[str, str]]:
    """Run the request as a turn of ``conv_id``; returns the answer in the request path's shape
    and the conversation's response headers. Raises :class:`GatewayError`."""
    inp = greq.inp
    conv = ConversationClient(gw.sy.client, gw.sy.task_queue, payloads=gw.services.payloads)
    config = ConversationConfig(task_type=greq.route, tenant=inp.tenant, origin_region=inp.origin_region)
    key = headers.get(IDEMPOTENCY_HEADER)
    try:
        turn = await conv.send(conv_id, inp.request, config=config, update_id=f"idem-{key}" if key else None)
    except ValueError as e:
        raise GatewayError(400, f"{e} (with {CONVERSATION_HEADER}, send only the new messages of the turn)",
                           param="messages") from None
    except TurnFailed as e:
        wf_id = conv.workflow_id(conv_id, inp.tenant)
        raise from_failure(e.failure, {**trace_headers(wf_id, inp.tenant, e.failure.trace, started),
                                       CONVERSATION_HEADER: conv_id}) from None
    except RPCError as e:
        log.warning("conversation turn for %s failed to reach Temporal: %s", conv_id, e)
        raise unavailable(f"The turn could not be run: Temporal is unreachable ({e.status.name}).") from None
    result = RequestResult(workflow_id=turn.workflow_id, response=turn.response, response_ref=turn.response_ref,
                           trace=turn.trace)
    return result, turn_headers(conv_id, turn)


def turn_headers(conv_id: str, turn: TurnResult) -> dict[str, str]:
    """The conversation's response headers (see module docstring)."""
    out = {CONVERSATION_HEADER: conv_id, "x-switchyard-turn": str(turn.turn),
           "x-switchyard-pinned-target": turn.pinned_target}
    if turn.pin_move is not None:
        m = turn.pin_move
        out["x-switchyard-pin-moved"] = f"{m.kind}: {m.from_target or '-'} -> {m.to_target}"
    return out
