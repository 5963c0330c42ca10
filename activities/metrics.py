"""Switchyard's metric instruments (OpenTelemetry API), recorded where the facts are known.

Nothing here exports: the instruments come from the global meter provider, a no-op until a
process installs the SDK with :func:`worker.metrics_setup.setup_metrics` (the gateway and the
worker do, with a Prometheus reader). Names and attributes follow the OpenTelemetry GenAI
semantic conventions where they exist (semantic-conventions v1.41 ``gen-ai-metrics.md``):

==========================================  =========  ===========================================
instrument                                  unit       attributes
==========================================  =========  ===========================================
``gen_ai.client.operation.duration``        s          gen_ai.operation.name, gen_ai.provider.name,
                                                       gen_ai.request.model, error.type,
                                                       switchyard.target, switchyard.route
``gen_ai.client.operation.time_to_first_    s          as above (streamed calls only, as the
chunk``                                                convention says)
``gen_ai.client.token.usage``               {token}    as above + gen_ai.token.type input|output
``switchyard.attempts``                     {attempt}  switchyard.target, switchyard.route,
                                                       switchyard.status_class
``switchyard.cost``                         USD        switchyard.target, switchyard.route,
                                                       switchyard.tenant
``switchyard.target.health``                1          switchyard.target, switchyard.state
                                                       (1 for the current state, 0 otherwise)
``switchyard.target.breaker``               1          switchyard.target, switchyard.breaker
``switchyard.target.score``                 1          switchyard.target (1 = perfect, 0 = open)
``switchyard.target.in_flight``             {call}     switchyard.target
``switchyard.cache.lookups``               {lookup}   switchyard.route, switchyard.result
``switchyard.requests.shed``                {request}  switchyard.route, switchyard.reason,
                                                       switchyard.priority
``switchyard.batch.items``                  {item}     switchyard.status (done | failed)
``switchyard.learning.rank_changes``        {change}   switchyard.route
==========================================  =========  ===========================================

Request-level instruments (requests, failovers, request duration) are recorded by the request
workflow itself, replay-safe (``workflows/metrics.py``). Cardinality is bounded: targets and
routes come from the config, status classes from :class:`core.errors.ErrorClass`, and tenants
are capped by :data:`core.metric_labels.TENANTS` (200 distinct values per process, later ones
are ``other``). No prompt, answer, workflow id or key ever becomes an attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from activities.storage.outcomes import OutcomeRow
from core.metric_labels import TENANTS

TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576]  # semconv's advice
DURATION_BUCKETS_S = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
# gen_ai.provider.name well-known values (semconv): our wire protocol ids where they differ
PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini", "mistral": "mistral_ai"}
HEALTH_STATES = ("healthy", "degraded", "down")
BREAKER_STATES = ("closed", "open", "half_open")

_meter = metrics.get_meter("switchyard")
_duration = _meter.create_histogram("gen_ai.client.operation.duration", unit="s",
                                    description="Duration of one provider call (one try of one attempt).",
                                    explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S)
_ttfc = _meter.create_histogram("gen_ai.client.operation.time_to_first_chunk", unit="s",
                                description="Time to the first streamed chunk of one provider call.",
                                explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S)
_tokens = _meter.create_histogram("gen_ai.client.token.usage", unit="{token}",
                                  description="Input and output tokens of one provider call (billed, or estimated).",
                                  explicit_bucket_boundaries_advisory=TOKEN_BUCKETS)
_attempts = _meter.create_counter("switchyard.attempts", unit="{attempt}",
                                  description="Provider calls by target, route and status class (ok or error class).")
_cost = _meter.create_counter("switchyard.cost", unit="USD", description="Spend on provider calls.")
_cache = _meter.create_counter("switchyard.cache.lookups", unit="{lookup}",
                               description="Cache lookups by route and result (hit, miss, stale, bypass).")
_shed = _meter.create_counter("switchyard.requests.shed", unit="{request}",
                              description="Requests refused or degraded under overload, by reason and priority.")
_batch_items = _meter.create_counter("switchyard.batch.items", unit="{item}", description="Batch items finished.")
_rank_changes = _meter.create_counter("switchyard.learning.rank_changes", unit="{change}",
                                      description="Learning runs that changed a route's chain order.")
def provider_name(provider: str) -> str:
    """The semconv ``gen_ai.provider.name`` of a configured provider id (unknown ones as they are)."""
    return PROVIDER_NAMES.get(provider, provider)


def record_outcome(row: OutcomeRow, *, streamed: bool = False) -> None:
    """Record one provider call's outcome row (the attempt activity calls this once per row).

    ``latency_ms``/``ttft_ms`` are converted to seconds; tokens go to the usage histogram only
    when the call answered (a failed call bills no tokens unless a stream broke mid-way)."""
    common = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider_name(row.provider),
              "gen_ai.request.model": row.model, "switchyard.target": row.target, "switchyard.route": row.task_type}
    if row.status_class != "ok":
        common["error.type"] = row.status_class
    _duration.record(row.latency_ms / 1000.0, common)
    if streamed and row.ttft_ms is not None:
        _ttfc.record(row.ttft_ms / 1000.0, common)
    if row.prompt_tokens or row.completion_tokens:
        _tokens.record(row.prompt_tokens, {**common, "gen_ai.token.type": "input"})
        _tokens.record(row.completion_tokens, {**common, "gen_ai.token.type": "output"})
    _attempts.add(1, {"switchyard.target": row.target, "switchyard.route": row.task_type,
                      "switchyard.status_class": row.status_class})
    if row.cost_usd:
        _cost.add(row.cost_usd, {"switchyard.target": row.target, "switchyard.route": row.task_type,
                                 "switchyard.tenant": TENANTS(row.tenant)})


def record_cache_lookup(route: str, result: str) -> None:
    """Count one cache lookup; ``result`` is ``hit``, ``miss``, ``stale`` or ``bypass``."""
    _cache.add(1, {"switchyard.route": route, "switchyard.result": result})


def record_shed(route: str, reason: str, priority: str) -> None:
    """Count one request shed (refused with 429, served from cache or by a brownout target);
    ``reason`` names why (``rate_limit``, ``overload``, ``brownout``, ``budget``), ``priority`` its class."""
    _shed.add(1, {"switchyard.route": route, "switchyard.reason": reason, "switchyard.priority": priority})


def record_batch_items(done: int, failed: int) -> None:
    """Count finished batch items (``done`` answered, ``failed`` given up)."""
    if done:
        _batch_items.add(done, {"switchyard.status": "done"})
    if failed:
        _batch_items.add(failed, {"switchyard.status": "failed"})


def record_rank_change(route: str) -> None:
    """Count one learning run that changed ``route``'s chain order."""
    _rank_changes.add(1, {"switchyard.route": route})


class HealthGauges:
    """Observable gauges of each target's health, breaker, score and calls in flight.

    ``views`` returns ``{target: TargetView}`` (``activities.health.monitor.HealthMonitor.views``)
    and ``in_flight`` a target's open call count; both are read at scrape time only. Register
    one per process (the worker's or the gateway's health monitor)."""

    def __init__(self, views: Callable[[], dict], in_flight: Callable[[str], int]) -> None:
        self._views, self._in_flight = views, in_flight
        _meter.create_observable_gauge("switchyard.target.health", [self._health], unit="1",
                                       description="1 for the target's current health state, 0 for the others.")
        _meter.create_observable_gauge("switchyard.target.breaker", [self._breaker], unit="1",
                                       description="1 for the target's circuit breaker state, 0 for the others.")
        _meter.create_observable_gauge("switchyard.target.score", [self._score], unit="1",
                                       description="Health score (1 = perfect, 0 = breaker open).")
        _meter.create_observable_gauge("switchyard.target.in_flight", [self._calls], unit="{call}",
                                       description="Provider calls in flight from this process.")

    def _health(self, _: CallbackOptions) -> Iterable[Observation]:
        for target, v in self._views().items():
            for s in HEALTH_STATES:
                yield Observation(int(v.state == s), {"switchyard.target": target, "switchyard.state": s})

    def _breaker(self, _: CallbackOptions) -> Iterable[Observation]:
        for target, v in self._views().items():
            for s in BREAKER_STATES:
                yield Observation(int(v.breaker == s), {"switchyard.target": target, "switchyard.breaker": s})

    def _score(self, _: CallbackOptions) -> Iterable[Observation]:
        for target, v in self._views().items():
            yield Observation(v.score, {"switchyard.target": target})

    def _calls(self, _: CallbackOptions) -> Iterable[Observation]:
        for target in self._views():
            yield Observation(self._in_flight(target), {"switchyard.target": target})
