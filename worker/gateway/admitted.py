"""The admission steps every generation endpoint shares, around its own answer.

``/v1/chat/completions``, ``/v1/messages`` and ``/v1/responses`` each build a
:class:`worker.gateway.inputs.GatewayRequest` and an answer function; :func:`serve_admitted` runs,
in order: the rate limits per key and tenant (``ratelimit.py``: 429 before anything starts) ->
the cache's exact hit when the route lets the gateway serve it (``cache_hook.py``) -> priority
shedding (``shedding.py``: a slot, a brownout route, the cache hook's Chat Completions
answer when ``cache`` allows it, or a 429) -> money budgets (``budget.py``: the estimate reserved)
-> the answer -> releasing the slot (a live stream holds it to its last byte), settling the rate
limits with the tokens used and the budget with the recorded cost. An error raised by the answer
releases and settles everything and carries the admission headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse

from core.config import SwitchyardConfig
from worker.gateway.budget import admit, settle_after, settle_now, soft_headers
from worker.gateway.cache_hook import serve_from_cache
from worker.gateway.errors import GatewayError
from worker.gateway.inputs import Caller, GatewayRequest
from worker.gateway.state import Gateway

#: An endpoint's answer: the response and the tokens it used (``None``: unknown, e.g. a live stream).
Answer = Callable[[GatewayRequest], Awaitable[tuple[Response, int | None]]]


async def serve_admitted(gw: Gateway, cfg: SwitchyardConfig, greq: GatewayRequest, caller: Caller, answer: Answer,
                         *, cache: bool = True) -> Response:
    """See module docstring. Raises :class:`GatewayError` (429 refused or shed, the answer's own)."""
    ticket = await gw.limiter.admit(greq.inp.request, greq.inp.tenant, caller.key_id, cfg.admission)
    hit = await _gateway_hit(gw, cfg, greq) if cache else None
    if hit is not None:  # answered from the cache: no slot, no budget, no workflow
        hit.headers.update(ticket.headers)
        await gw.limiter.settle(ticket, 0)
        return hit
    try:
        greq, slot = await gw.shedder.enter(greq, cfg, cache=cache)
    except GatewayError as e:
        e.headers.update(ticket.headers)
        await gw.limiter.settle(ticket, None)
        raise
    extra = {**ticket.headers, **slot.headers}
    if slot.cached is not None:
        slot.cached.headers.update(extra)
        return slot.cached
    budget = None
    try:
        greq, budget = await admit(gw, cfg, greq)  # money budgets, after shedding
        resp, used = await answer(greq)
    except GatewayError as e:
        slot.release()
        e.headers.update(extra)
        await gw.limiter.settle(ticket, None)
        settle_now(gw, budget, e)
        raise
    except BaseException:
        slot.release()
        raise
    resp.headers.update({**extra, **soft_headers(budget)})
    if isinstance(resp, StreamingResponse):  # a live stream holds its slot until its last byte
        resp.body_iterator = _release_after(resp.body_iterator, slot.release)
    else:
        slot.release()
        await gw.limiter.settle(ticket, used)
    return settle_after(gw, budget, resp)


async def _gateway_hit(gw: Gateway, cfg: SwitchyardConfig, greq: GatewayRequest) -> Response | None:
    """The cache hook's answer when the route lets the gateway serve its hits (``cache.gateway_hits``)."""
    route = cfg.routes.get(greq.route)
    if route is None or route.cache.mode == "off" or not route.cache.gateway_hits:
        return None
    return await serve_from_cache(gw, greq, prefix="cache")


async def _release_after(body: AsyncIterator[Any], release: Callable[[], None]) -> AsyncIterator[Any]:
    try:
        async for chunk in body:
            yield chunk
    finally:
        release()
