"""Response headers: which execution answered, through which target, at what cost and overhead.

- ``x-request-id``, ``x-switchyard-workflow-id``: the workflow id (``req-...``), the handle for
  ``temporal workflow show`` and the Temporal UI;
- ``x-switchyard-route``: the route (task type) that served the request;
- ``x-switchyard-target``: ``provider/model@region`` that answered (absent on failure);
- ``x-switchyard-failovers``: how many times the walk moved to another target;
- ``x-switchyard-attempts``: provider calls made, same-target retries included;
- ``x-switchyard-cost-usd``: cost of the answer in USD (failed calls are not billed by providers);
- ``x-switchyard-overhead-ms``: the gateway's own time: wall time in the handler minus the summed
  latency of the provider calls (so waits between same-target retries count); not meaningful when
  a retried Idempotency-Key attached to an earlier execution;
- ``x-switchyard-tenant``: the tenant the request ran as;
- ``x-switchyard-usage-estimated``: ``true`` when the provider sent no token counts (estimated);
- ``x-switchyard-cache``: ``hit``, ``stale``, ``miss`` or ``bypass`` on a route with a response
  cache (``core/cache.py``); with a served entry also ``age`` (s since it was stored, RFC 9111
  section 5.1) and ``x-switchyard-saved-usd`` (its original cost, not billed again).
"""

from __future__ import annotations

import time

from core.request import RoutingTrace

WORKFLOW_ID = "x-switchyard-workflow-id"
TARGET = "x-switchyard-target"
FAILOVERS = "x-switchyard-failovers"
COST = "x-switchyard-cost-usd"
OVERHEAD = "x-switchyard-overhead-ms"
CACHE = "x-switchyard-cache"
SAVED = "x-switchyard-saved-usd"


def trace_headers(workflow_id: str, tenant: str, trace: RoutingTrace | None, started: float) -> dict[str, str]:
    """Headers for a finished request (answer or failure). ``started``: ``time.perf_counter()`` at
    the start of the handler."""
    headers = {"x-request-id": workflow_id, WORKFLOW_ID: workflow_id, "x-switchyard-tenant": tenant}
    if trace is None:
        return headers
    provider_ms = sum(a.latency_ms for a in trace.attempts)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    headers.update({"x-switchyard-route": trace.route, FAILOVERS: str(trace.failovers),
                    "x-switchyard-attempts": str(len(trace.attempts)), COST: f"{trace.cost_usd:.6f}",
                    OVERHEAD: f"{max(0.0, elapsed_ms - provider_ms):.1f}"})
    if trace.target_used:
        headers[TARGET] = trace.target_used
    headers.update(cache_headers(trace))
    return headers


def cache_headers(trace: RoutingTrace) -> dict[str, str]:
    """``x-switchyard-cache`` (and ``age``, ``x-switchyard-saved-usd`` for a served entry, and
    ``x-switchyard-cache-similarity`` for a semantic match)."""
    if trace.cache is None:
        return {}
    out = {CACHE: trace.cache}
    if trace.cache_age_s is not None:
        out["age"] = str(int(trace.cache_age_s))
        out[SAVED] = f"{trace.saved_usd:.6f}"
    if trace.cache_similarity is not None:
        out["x-switchyard-cache-similarity"] = f"{trace.cache_similarity:.3f}"
    return out
