"""The ``metrics:`` section of the config: where the Prometheus scrape endpoints are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MetricsConfig(BaseModel):
    """Metrics export (OpenTelemetry SDK with a Prometheus reader, ``worker/metrics_setup.py``).

    - ``enabled``: record and serve metrics (default on; recording costs a few µs per call).
    - ``gateway_path``: the gateway serves the Prometheus text format here (default ``/metrics``).
    - ``require_auth``: the gateway's ``/metrics`` asks for a gateway key like ``/v1/*`` does
      (default off: Prometheus scrapers usually run inside the network without one).
    - ``worker_port``: ``switchyard worker`` serves ``/metrics`` on this port (``null``: none;
      default 9464, the OpenTelemetry Prometheus exporter's registered default port).
    - ``worker_host``: the worker endpoint's bind address (default ``127.0.0.1``).
    - ``temporal_ui_url``: where the dashboard links each failover's workflow (default the
      embedded dev server's UI, ``http://127.0.0.1:8233``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    gateway_path: str = Field(default="/metrics", pattern=r"^/[A-Za-z0-9_./-]*$")
    require_auth: bool = False
    worker_port: int | None = Field(default=9464, ge=0, le=65535)
    worker_host: str = "127.0.0.1"
    temporal_ui_url: str = "http://127.0.0.1:8233"
