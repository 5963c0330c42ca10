"""Install the OpenTelemetry metrics SDK with a Prometheus reader, and serve the scrape endpoint.

:func:`setup_metrics` (idempotent, once per process) sets the global meter provider to
``ReplaySafeMeterProvider(MeterProvider([PrometheusMetricReader()]))``: the instruments of
``activities/metrics.py`` and ``workflows/metrics.py`` start recording, workflow recordings are
dropped while history is replayed (Temporal's ``temporalio.contrib.opentelemetry``), and the
reader registers with ``prometheus_client``'s default registry. :func:`scrape` renders that
registry in the Prometheus text format (the gateway's ``/metrics``); :func:`serve_worker_metrics`
starts ``prometheus_client``'s own HTTP server for the worker process. ``OTEL_METRICS_EXPORTER=otlp``
adds an OTLP push exporter next to the Prometheus reader (the exporter's standard variables apply).
"""

from __future__ import annotations

import logging
import os

from opentelemetry import metrics

log = logging.getLogger("switchyard.metrics")
_installed = False
_health_source: list = []  # [HealthMonitor] the gauges read: the process's latest


def setup_metrics() -> bool:
    """Install the SDK once; returns True when this call installed it."""
    global _installed
    if _installed:
        return False
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from temporalio.contrib.opentelemetry import ReplaySafeMeterProvider

    readers: list = [PrometheusMetricReader()]
    if os.environ.get("OTEL_METRICS_EXPORTER", "").strip().lower() == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "switchyard")})
    metrics.set_meter_provider(ReplaySafeMeterProvider(MeterProvider(metric_readers=readers, resource=resource)))
    from activities.metrics import HealthGauges
    HealthGauges(lambda: _health_source[-1].views() if _health_source else {},
                 lambda t: _health_source[-1].in_flight_count(t) if _health_source else 0)
    _installed = True
    return True


def watch_health(monitor) -> None:
    """Make ``monitor`` (an ``activities.health.monitor.HealthMonitor``) the one the health gauges
    read (the latest opened wins: one per process in production)."""
    _health_source[:] = [monitor]


def scrape() -> tuple[bytes, str]:
    """``(body, content type)`` of the Prometheus text exposition of this process's metrics."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_worker_metrics(host: str, port: int) -> int:
    """Serve ``/metrics`` from a background thread on ``host:port``; returns the bound port.

    Raises ``OSError`` when the port is taken (the caller logs it and runs without)."""
    from prometheus_client import start_http_server
    server, _ = start_http_server(port, addr=host)
    return server.server_port
