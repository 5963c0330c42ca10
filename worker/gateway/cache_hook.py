"""The response cache read straight from the gateway, without a workflow.

Two callers: the hit path of every Chat Completions request on a route with ``cache.gateway_hits``
(``admitted.py``, before admission control: a hit takes no slot and starts nothing in Temporal),
and load shedding before it turns a request away (``Shedder.serve_from_cache``). Same key, same
policy and the same outcome row (target ``cache``, zero usage, ``saved_usd``) as the workflow path
(``activities/cache.py``), written after the answer has gone; the row's ``workflow_id`` is
``cache-<id>`` (``shed-cache-<id>`` when shedding served it), which the ``x-request-id`` header
carries. Exact matches only: a semantic lookup (an embedding call) runs in the workflow.
"""

from __future__ import annotations

import time
import uuid

from starlette.responses import JSONResponse, Response

from core.cache import cache_key, request_digest, uncacheable_request
from core.request import RoutingTrace
from worker.gateway.headers import trace_headers
from worker.gateway.inputs import GatewayRequest
from worker.gateway.sse import completion_body, sse_body
from worker.gateway.state import Gateway


async def serve_from_cache(gw: Gateway, greq: GatewayRequest, *, prefix: str = "shed-cache") -> Response | None:
    """The cached answer of ``greq`` as the HTTP response (JSON, or SSE for ``stream: true``), or
    ``None`` when the route has no cache, the request may not use it, or there is no fresh entry."""
    started = time.perf_counter()
    cache = gw.services.cache
    cfg, _ = gw.config()
    route = cfg.routes.get(greq.route)
    if cache is None or route is None or greq.inp.cache not in ("default",):
        return None
    if uncacheable_request(greq.inp.request.temperature, route.cache) is not None:
        return None
    request_id = f"{prefix}-{uuid.uuid4().hex}"
    key = cache_key(greq.route, greq.inp.tenant, request_digest(greq.inp.request))
    hit = await cache.lookup(greq.route, greq.inp.tenant, key, route.cache, record_as=request_id, record_later=True)
    if hit is None:
        return None
    trace = RoutingTrace(route=greq.route, target_used="cache", cache=hit.state, cache_age_s=hit.age_s,
                         saved_usd=hit.saved_usd)
    headers = trace_headers(request_id, greq.inp.tenant, trace, started)
    if greq.stream:
        return Response(sse_body(hit.response, greq.include_usage), media_type="text/event-stream",
                        headers={**headers, "cache-control": "no-cache"})
    return JSONResponse(completion_body(hit.response), headers=headers)
