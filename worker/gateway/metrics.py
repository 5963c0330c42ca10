"""``GET /metrics`` (``metrics.gateway_path``): this gateway process's metrics for Prometheus.

The Prometheus text exposition format of ``worker/metrics_setup.py``'s registry: provider calls,
latency and time-to-first-chunk histograms per target, health and breaker state, requests and
failovers of the workflows this process ran (eager start runs most of them here), tokens and cost.
No key needed unless ``metrics.require_auth`` is set; 404 when ``metrics.enabled`` is off.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from worker.gateway.auth import authenticate
from worker.gateway.errors import GatewayError
from worker.gateway.state import Gateway
from worker.metrics_setup import scrape


async def prometheus_metrics(request: Request) -> Response:
    """The scrape endpoint (see module docstring)."""
    gw: Gateway = request.app.state.gateway
    cfg, _ = gw.config()
    if not cfg.metrics.enabled:
        raise GatewayError(404, "Metrics are off in this gateway's config (metrics.enabled: false).")
    if cfg.metrics.require_auth:
        await authenticate(request, gw, cfg)
    body, content_type = scrape()
    return Response(body, media_type=content_type)
