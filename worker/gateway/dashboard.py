"""``GET /dashboard`` (the page) and ``GET /dashboard/data`` (what it shows, JSON).

The page (``dashboard.html``, no external assets: it must work offline) polls the data endpoint
every 2 s and redraws without reloading: health per target with its signals, failovers over time
by reason with a link from each recent one to its workflow in the Temporal UI, latency
p50/p95/p99 per target, cost per route over time and per tenant, cache hit rate, quality (flagged
answer share), alerts and the last drill of each target (``switchyard drill``, next to its
health). The page itself holds no data and needs no key; the data endpoint is
behind the gateway's auth (``Authorization: Bearer``, the page asks for the key once and keeps it
in the tab's ``sessionStorage``). ``?window_s=`` and ``?bucket_s=`` choose the span (default 1 h
in 1-minute buckets).
"""

from __future__ import annotations

import time
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from activities.storage.dashboard_queries import dashboard_data
from activities.storage.drill_store import DrillStore
from worker.gateway.auth import authenticate
from worker.gateway.errors import GatewayError
from worker.gateway.state import Gateway

PAGE = files("worker.gateway").joinpath("dashboard.html")


async def dashboard_page(request: Request) -> Response:
    """The HTML page (see module docstring)."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"cache-control": "no-cache"})


def _number(request: Request, name: str, default: float, lo: float, hi: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        v = float(raw)
    except ValueError:
        raise GatewayError(400, f"{name} must be a number of seconds, not {raw!r}.", param=name) from None
    if not lo <= v <= hi:
        raise GatewayError(400, f"{name} must be between {lo:g} and {hi:g} seconds.", param=name)
    return v


async def dashboard_json(request: Request) -> Response:
    """The data (``activities.storage.dashboard_queries.dashboard_data``) plus the Temporal UI links."""
    gw: Gateway = request.app.state.gateway
    cfg, _ = gw.config()
    await authenticate(request, gw, cfg)
    window = _number(request, "window_s", 3600.0, 10.0, 7 * 86400.0)
    bucket = _number(request, "bucket_s", max(window / 60.0, 1.0), 1.0, window)
    data = await dashboard_data(gw.services.engine, time.time(), window_s=window, bucket_s=bucket)
    data["drills"] = [r.model_dump() for r in (await DrillStore(gw.services.engine).latest_by_target()).values()]
    ui, ns = cfg.metrics.temporal_ui_url.rstrip("/"), gw.sy.client.namespace
    for ev in data["failovers"]["recent"]:
        ev["url"] = f"{ui}/namespaces/{ns}/workflows/{ev['workflow_id']}"
    data["temporal_ui"] = f"{ui}/namespaces/{ns}/workflows?query=FailoverCount%20%3E%200"
    return JSONResponse(data, headers={"cache-control": "no-store"})
