"""OpenTelemetry set-up: silent by default, exporting through the standard ``OTEL_*`` variables.

Nothing is exported unless ``OTEL_TRACES_EXPORTER`` is ``otlp`` or ``console`` (or
``OTEL_EXPORTER_OTLP_ENDPOINT``/``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, which implies
``otlp``). The OTLP exporter reads its own standard variables (endpoint, headers, protocol
http/protobuf); ``OTEL_SERVICE_NAME`` names the service (default ``switchyard``). Spans come from
Temporal's ``TracingInterceptor`` (client, workflows, activities) and from the attempt activity
(one span per provider call with target, status and tokens).
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

_configured = False


def _exporter() -> SpanExporter | None:
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not kind and (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                     or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        kind = "otlp"
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # optional dep
        return OTLPSpanExporter()
    return None


def setup_tracing(role: str) -> bool:
    """Install a tracer provider if the environment asks for export; returns True if it did.

    ``role`` (``worker``, ``gateway``, ``cli``) becomes the ``service.instance.role`` attribute."""
    global _configured
    if _configured:
        return True
    exporter = _exporter()
    if exporter is None:
        return False
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "switchyard"),
                                "switchyard.role": role})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True
    return True
