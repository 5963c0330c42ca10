"""Configuration schema: providers, targets and routes (the YAML file, validated by pydantic).

Shape (see ``examples/switchyard.yaml``)::

    providers:            name -> {protocol: openai|anthropic|gemini, base_url, api_key_env, headers}
    targets:              list of {provider, model, region, capabilities, context_window,
                                   max_output_tokens, price: {input, output, cached_input} (USD per 1M
                                   tokens), timeout_s}
    routes:               task type -> {chain: [entry, ...], retries, max_retry_wait_s, deadline_s,
                                        learn: off|shadow|on, objective: {...}}
    default_route:        task type used when a request names none
    health:               thresholds of the health layer (core/health/settings.py); a target's
                          own ``health:`` block overrides single fields for that target
    learning:             {period_s, window_periods, discount, memory, ...} (optional)
    gateway:              {auth: required|off, host, port, max_body_bytes, key_cache_s} (optional)
    streams:              {channel: database|redis|off, redis_url, poll_ms, retain_s} (optional)
    admission:            rate limits per key and tenant (core/admission_config.py) (optional);
                          a route's ``overload:`` block sets its load shedding
    concurrency:          adaptive per-target concurrency limits {mode: off|aimd, ...} (core/concurrency.py)
    cache_store:          {redis_url, max_entries, evict_every} (optional; routes turn the cache on
                          with their own ``cache: {mode: exact, ttl_s, ...}``, core/cache.py)

A chain entry is ``provider/model`` (every region where that model is deployed, nearest first),
``provider/model@region`` (exactly that deployment) or ``route:NAME`` (another route's chain,
inlined). A target id is always ``provider/model@region``, the same ids the simulator's scenarios use.

Keys never appear here: a provider names the *environment variable* that holds its key, which only
the attempt activity reads (``activities/providers/http.py``). :func:`core.config_checks.validate_config` returns every
problem with the path of the bad field, e.g. ``routes.support_reply.chain[2]``.

Pure: no I/O. The YAML loader lives in ``worker/config_loader.py``.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.admission_config import AdmissionConfig, OverloadConfig
from core.alerts_config import AlertsConfig
from core.budgets import BudgetRule
from core.cache import CacheConfig, CacheStoreConfig
from core.concurrency import ConcurrencySettings
from core.drill_config import CanaryConfig, DrillConfig
from core.health.settings import HealthSettings
from core.metrics_config import MetricsConfig
from core.normalize_config import NormalizeConfig
from core.prompt_variants import PromptsConfig

WireProtocol = Literal["openai", "anthropic", "gemini"]
Capability = Literal["chat", "tools", "json", "vision", "streaming", "sampling", "embeddings", "thinking"]

#: Defaults of the stream timeouts (s), see :attr:`TargetConfig.first_token_s` / :attr:`TargetConfig.stream_idle_s`.
DEFAULT_FIRST_TOKEN_TIMEOUT_S = 10.0
DEFAULT_STREAM_IDLE_TIMEOUT_S = 5.0

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Strict):
    """One provider: a company API or a self-hosted server, spoken to in one wire protocol.

    ``base_url`` follows each official SDK's convention: OpenAI-style includes ``/v1``
    (``https://api.openai.com/v1``); Anthropic and Gemini do not (``https://api.anthropic.com``,
    ``https://generativelanguage.googleapis.com``). ``{region}`` in it is replaced by the target's
    region, for regional endpoints (and the simulator). ``api_key_env`` is the *name* of the
    environment variable holding the key; ``None`` for servers that need none (Ollama, vLLM).
    """

    protocol: WireProtocol
    base_url: str
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    send_task_type: bool = False  # send x-switchyard-task-type (the simulator's task profiles)

    @field_validator("base_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


class Price(_Strict):
    """USD per 1M tokens (source for defaults: ``shared/providers.md`` section 6)."""

    input: float = Field(default=0.0, ge=0)
    output: float = Field(default=0.0, ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class TargetConfig(_Strict):
    """One deployable model: provider + model + region, with capabilities, limits, price, timeout.

    ``timeout_s`` bounds one call (seconds, whole response). ``first_token_timeout_s``: seconds to
    the first content or tool-call delta of a streamed call; ``stream_idle_timeout_s``: longest gap
    between chunks after it (defaults: :attr:`first_token_s`, :attr:`stream_idle_s`); both are
    capped by ``timeout_s``. ``context_window`` and ``max_output_tokens`` are in tokens.
    """

    provider: str
    model: str
    region: str = "global"
    capabilities: frozenset[Capability] = frozenset({"chat", "json", "streaming", "sampling"})
    embedding_dimensions: int | None = Field(default=None, ge=1, le=65_536)  # an embedding model's native size
    context_window: int = Field(default=128_000, ge=256)
    max_output_tokens: int = Field(default=4096, ge=1)
    price: Price = Field(default_factory=Price)
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    first_token_timeout_s: float | None = Field(default=None, gt=0, le=600)
    stream_idle_timeout_s: float | None = Field(default=None, gt=0, le=600)
    health: HealthSettings | None = None  # per-target overrides of the global ``health`` block

    @property
    def first_token_s(self) -> float:
        """Seconds to wait for the first content or tool-call delta of a streamed answer: the
        configured ``first_token_timeout_s`` (else 10), at most ``timeout_s`` (STREAMING.md: a slow
        first token fails over; 10 s is above the p99 TTFT of every provider row in
        ``shared/providers.md`` section 6 for non-reasoning models)."""
        return min(self.first_token_timeout_s or DEFAULT_FIRST_TOKEN_TIMEOUT_S, self.timeout_s)

    @property
    def stream_idle_s(self) -> float:
        """Longest gap between two chunks of a streamed answer, in s: ``stream_idle_timeout_s``
        (else 5), at most ``timeout_s`` (a stall longer than this after the first token is a failure
        that starts a rescue)."""
        return min(self.stream_idle_timeout_s or DEFAULT_STREAM_IDLE_TIMEOUT_S, self.timeout_s)

    @property
    def id(self) -> str:
        """``provider/model@region``."""
        return f"{self.provider}/{self.model}@{self.region}"

    @property
    def model_ref(self) -> str:
        """``provider/model`` (all regions)."""
        return f"{self.provider}/{self.model}"


LearnMode = Literal["off", "shadow", "on"]
RescueMode = Literal["continue", "off"]


class ObjectiveWeights(_Strict):
    """Relative weights of the learned score (``core/learning/rank.py``); any scale, not all zero."""

    success: float = Field(default=1.0, ge=0)
    quality: float = Field(default=1.0, ge=0)
    latency: float = Field(default=0.2, ge=0)
    cost: float = Field(default=0.2, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> ObjectiveWeights:
        if self.success + self.quality + self.latency + self.cost <= 0:
            raise ValueError("at least one weight must be above 0")
        return self


class Objective(_Strict):
    """What learning optimises on one route and the limits it works within (RESILIENCE.md R10).

    Hard constraints (a target failing one is never ranked, so never promoted; it stays in the
    chain as a last-resort fallback in configured order): ``cost_ceiling_usd_per_1m_output``
    (the target's configured output price, USD per 1M tokens), ``required_capabilities``,
    ``min_context_window`` (tokens), ``allowed_regions``. ``pinned_primary`` (target id or
    ``provider/model``) always goes first; learning orders the rest. ``exploration_floor``: least
    share of first positions each ranked target gets (R10: 2%), so demoted targets can come back;
    ``max_exploration``: most share of first positions the non-leading targets get together
    (1.0: plain Thompson sampling).
    """

    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    cost_ceiling_usd_per_1m_output: float | None = Field(default=None, ge=0)
    required_capabilities: frozenset[Capability] = frozenset()
    min_context_window: int | None = Field(default=None, ge=1)
    allowed_regions: frozenset[str] | None = None
    pinned_primary: str | None = None
    exploration_floor: float = Field(default=0.02, ge=0, le=0.2)
    max_exploration: float = Field(default=1.0, ge=0, le=1)


class LearningSettings(_Strict):
    """The learning workflow's clock and memory (``workflows/learning.py``).

    ``period_s``: how often it runs (the schedule's interval) and the width of one aggregation
    bucket; ``window_periods``: how many periods of outcomes it reads; ``discount``: weight of an
    outcome one period older (discounted Thompson sampling, RESILIENCE.md 7.2); ``memory``: most
    effective samples per target and signal (R10.3: about 2,000); ``change_z``: a z-score of the
    last period against the older ones at or above this forgets the older ones (a change point);
    ``change_min_samples``: least samples on each side before that test runs; ``mc_samples``:
    posterior draws per ranking; ``prior_strength``: pseudo-samples of a target's prior on one task
    type taken from its record on the other task types (partial pooling; 0: uniform prior).
    """

    period_s: float = Field(default=600.0, ge=1, le=86_400)
    window_periods: int = Field(default=24, ge=1, le=1000)
    discount: float = Field(default=0.85, gt=0, le=1)
    memory: float = Field(default=2000.0, ge=10)
    change_z: float = Field(default=4.0, gt=0)
    change_min_samples: int = Field(default=10, ge=1)
    mc_samples: int = Field(default=2000, ge=100, le=100_000)
    prior_strength: float = Field(default=4.0, ge=0, le=1000)


class RouteConfig(_Strict):
    """The configuration of one task type.

    ``retries``: extra tries on the *same* target for retryable errors (attempts = 1 + retries).
    ``max_retry_wait_s``: the longest server-requested wait (Retry-After) honoured on the same
    target; a longer one cools the target down and fails over at once (providers.md section 5,
    "Global rules": 2-5 s interactive, about 60 s batch). ``deadline_s``: default total budget of a
    request on this route. ``rescue``: what a stream cut after its first token does: ``continue``
    (default) has the next target continue the partial answer in the same client stream
    (``core/rescue.py``); ``off`` ends the stream with an error event. ``cost_aware_failover``:
    among backups (every position after the first) in the same health state, the cheaper one for
    this request first (``core/plan.py``).
    (``core/rescue.py``); ``off`` ends the stream with an error event. ``cache``: the response
    cache of this route (``core/cache.py``, ``docs/CACHE.md``; off by default).
    """

    chain: list[str] = Field(min_length=1)
    retries: int = Field(default=1, ge=0, le=10)
    max_retry_wait_s: float = Field(default=5.0, ge=0, le=600)
    deadline_s: float = Field(default=120.0, gt=0, le=3600)
    content_policy_fallback: list[str] = Field(default_factory=list)
    description: str = ""
    learn: LearnMode = "on"
    objective: Objective = Field(default_factory=Objective)
    rescue: RescueMode = "continue"
    cost_aware_failover: bool = False
    overload: OverloadConfig | None = None  # load shedding (core/admission_config.py)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    critical: bool = False  # drills weekly instead of monthly (core/drill_config.py)
    drill: DrillConfig = Field(default_factory=DrillConfig)  # failover drills and eval (core/drill_config.py)
    canary: CanaryConfig = Field(default_factory=CanaryConfig)  # live share to the first backup
    prompts: PromptsConfig | None = None  # variants, transformation (core/prompt_variants.py, docs/QUALITY.md)
    normalize: NormalizeConfig | None = None  # output normalisation (core/normalize_config.py)

    @field_validator("learn", mode="before")
    @classmethod
    def _learn_yaml_bool(cls, v: object) -> object:
        if isinstance(v, bool):  # YAML 1.1 reads a bare `on`/`off` as true/false
            return "on" if v else "off"
        return v

    @field_validator("rescue", mode="before")
    @classmethod
    def _rescue_yaml_bool(cls, v: object) -> object:
        if v is False:  # YAML 1.1 reads a bare `off` as false
            return "off"
        return v


class Defaults(_Strict):
    origin_region: str = "us-east"


class GatewayConfig(_Strict):
    """The OpenAI-compatible HTTP gateway (``switchyard gateway``, ``worker/gateway/``).

    ``auth``: ``required`` (default): every request needs a gateway API key (``switchyard keys
    create TENANT``) and runs as the key's tenant; ``off``: no key is checked and the tenant comes
    from the ``x-switchyard-tenant`` header or ``metadata.tenant`` (local demos only; YAML's bare
    ``off``/``on`` booleans are accepted). ``host``/``port``: where ``switchyard gateway`` and
    ``switchyard up`` listen, read at start (CLI flags override). ``max_body_bytes``: largest
    request body accepted (413 above it); it must stay under Temporal's 2 MB payload limit because
    the body becomes the workflow input (``shared/TEMPORAL.md`` section 4). ``key_cache_s``: how
    long a verified key is trusted without a database read, so a revocation reaches other gateway
    processes within this many seconds. ``max_concurrent_requests``: requests the gateway's
    in-process worker runs at once (workflow tasks and attempts; a streamed request holds its slot
    until its last token, so this bounds the streams served at once; more wait for a slot).
    ``max_in_flight_workflows``: whole-answer requests one gateway process runs at once (start to
    answer, read at start; 0, the default: no cap); more wait in the gateway, first come first
    served, at most their deadline (then 429) (``docs/PERFORMANCE.md``). Sized for a fast
    upstream: with real providers' seconds-long answers a small cap limits throughput.
    ``head_start``: begin an early-answerable request's first call while its workflow starts and
    let the first attempt adopt it (``activities/head_start.py``); ``false``: the attempt calls.
    """

    auth: Literal["required", "off"] = "required"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_900_000)
    key_cache_s: float = Field(default=5.0, ge=0, le=300)
    max_concurrent_requests: int = Field(default=1000, ge=1, le=10_000)
    max_in_flight_workflows: int = Field(default=0, ge=0, le=10_000)  # per process, 0: no cap (PERFORMANCE.md)
    head_start: bool = True

    @field_validator("auth", mode="before")
    @classmethod
    def _yaml_bool(cls, v: object) -> object:
        if isinstance(v, bool):  # YAML 1.1 reads a bare `off` as false and `on` as true
            return "required" if v else "off"
        return v


class StreamsConfig(_Strict):
    """Where the deltas of a streamed answer travel when the reader and the attempt are in
    different processes (``activities/streams/``; the same process always uses the in-process hub).

    ``channel``: ``database`` (default: the Switchyard database, polled every ``poll_ms``; works
    with nothing extra installed), ``redis`` (Redis Streams at ``redis_url``: the choice for more
    than one gateway replica, see ``docs/STREAMING.md`` for the measurements) or ``off`` (a reader
    in another process gets the whole answer when it is complete). ``retain_s``: how long a
    finished stream stays readable for a resuming client (s).
    """

    channel: Literal["database", "redis", "off"] = "database"
    redis_url: str = "redis://127.0.0.1:6379/0"
    poll_ms: int = Field(default=50, ge=5, le=2000)
    retain_s: float = Field(default=300.0, ge=1, le=86_400)

    @field_validator("channel", mode="before")
    @classmethod
    def _yaml_bool(cls, v: object) -> object:
        return "off" if v is False else v


class SwitchyardConfig(_Strict):
    """The whole configuration file."""

    version: Literal[1] = 1
    providers: dict[str, ProviderConfig]
    targets: list[TargetConfig] = Field(min_length=1)
    routes: dict[str, RouteConfig] = Field(min_length=1)
    default_route: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    health: HealthSettings = Field(default_factory=HealthSettings)  # core/health/settings.py
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    streams: StreamsConfig = Field(default_factory=StreamsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)  # core/metrics_config.py
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)  # core/alerts_config.py
    budgets: list[BudgetRule] = Field(default_factory=list)  # core/budgets.py
    admission: AdmissionConfig = Field(default_factory=AdmissionConfig)  # rate limits (core/admission_config.py)
    concurrency: ConcurrencySettings = Field(default_factory=ConcurrencySettings)  # per target (core/concurrency.py)
    cache_store: CacheStoreConfig = Field(default_factory=CacheStoreConfig)  # core/cache.py

    def target(self, target_id: str) -> TargetConfig:
        """The target with this id; raises ``KeyError`` if there is none."""
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)

    def route(self, task_type: str | None) -> tuple[str, RouteConfig]:
        """``(name, route)`` for a task type (``None`` -> the default route); ``KeyError`` if unknown."""
        name = task_type or self.default_route or next(iter(self.routes))
        return name, self.routes[name]


class ConfigSource(Protocol):
    """Where activities get the running config: ``current() -> (config, version)``.

    Implemented by ``worker.config_loader.ConfigHolder`` (reloads on file change)."""

    def current(self) -> tuple[SwitchyardConfig, str]: ...
