"""Request-level metrics, recorded by ``AIRequestWorkflow`` when it ends.

The global meter provider is wrapped in Temporal's ``ReplaySafeMeterProvider``
(``worker/metrics_setup.py``), so a recording made while history is replayed is dropped: each
request is counted once per live execution (a workflow task retried live may count again, as with
``workflow.metric_meter()``). A no-op until a process installs the SDK.

Instruments (attributes: ``switchyard.route``, ``switchyard.tenant`` capped by
``core.metric_labels.TENANTS``, ``switchyard.outcome`` ok | failed | caller_error):

- ``switchyard.requests`` ({request}): requests ended.
- ``switchyard.request.duration`` (s): whole workflow, first task to result (OTel semconv unit).
- ``switchyard.failovers`` ({failover}) with ``switchyard.reason`` (the error class that moved the
  walk on): one per move to another target.
- ``switchyard.rescues`` ({rescue}): streams cut after the first token and continued elsewhere.
"""

from __future__ import annotations

from opentelemetry import metrics

from core.metric_labels import TENANTS
from core.request import RoutingTrace

_meter = metrics.get_meter("switchyard.workflows")
_requests = _meter.create_counter("switchyard.requests", unit="{request}", description="Requests ended, by outcome.")
_duration = _meter.create_histogram(
    "switchyard.request.duration", unit="s", description="Whole request workflow, plan to answer.",
    explicit_bucket_boundaries_advisory=[0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48])
_failovers = _meter.create_counter("switchyard.failovers", unit="{failover}",
                                   description="Moves of the walk to the next target, by the causing error class.")
_rescues = _meter.create_counter("switchyard.rescues", unit="{rescue}",
                                 description="Streams cut after their first token and continued by the next target.")


def record_request(route: str, tenant: str, outcome: str, trace: RoutingTrace) -> None:
    """Count one ended request; ``trace.latency_ms`` becomes seconds."""
    attrs = {"switchyard.route": route or "unrouted", "switchyard.tenant": TENANTS(tenant),
             "switchyard.outcome": outcome}
    _requests.add(1, attrs)
    _duration.record(trace.latency_ms / 1000.0, attrs)
    for reason, n in trace.failover_reasons.items():
        _failovers.add(n, {"switchyard.route": route or "unrouted", "switchyard.reason": reason})
    if trace.rescues:
        _rescues.add(trace.rescues, {"switchyard.route": route or "unrouted"})
