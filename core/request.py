"""Inputs and results at the workflow boundary: what a caller submits and what it gets back.

``RequestInput`` -> ``AIRequestWorkflow`` -> ``RequestResult`` (answer + routing trace). Every field
is JSON-serialisable through Temporal's pydantic data converter; nothing here may hold a secret
(provider keys are read by the attempt activity from the environment, never passed in).

Pure data: importable inside workflows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.cache import CachePolicy, CacheStatus
from core.chat import ChatRequest, ChatResponse
from core.plan import Plan
from core.quality_trace import Normalization


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestInput(_Model):
    """One AI request.

    ``task_type`` selects the route (``None``: the config's default route). ``origin_region`` is
    where the request comes from; planning puts the nearest region of each model first.
    ``deadline_s`` is the caller's total budget in seconds (``None``: the route's default).
    ``idempotency_key``: a retried submission with the same key (per tenant) attaches to the same
    execution instead of running twice. ``priority``: Temporal priority key, 1 (highest) to 5.
    ``pinned_target``: put this target first if it is in the plan (conversations).
    ``durable_attempts``: run attempts as regular activities (batch, long generations) instead of
    local activities (interactive); see ``workflows/request.py``.
    With ``request.stream`` the attempts stream upstream and publish their deltas for a reader
    (the gateway, ``SwitchyardClient.stream``); ``stream_shared``: publish them to the shared
    channel even when the reader is in the attempt's process (a resumable stream).
    ``cache``: the caller's response-cache policy (``core/cache.py`` :data:`CachePolicy`; the route
    decides whether it caches at all). ``plan``: the plan, made by the caller just before the start
    (the gateway, ``worker/gateway/plan_ahead.py``) so the workflow runs no planning step; it is
    recorded in history with the input. ``None``: the workflow plans (a local activity).
    ``force_target``: a drill or eval run's request: call only this target id, skipping the
    primary and whatever health says, with no response cache (``core/plan.py``; the plan records it).
    """

    request: ChatRequest
    task_type: str | None = None
    tenant: str = "default"
    origin_region: str | None = None
    deadline_s: float | None = Field(default=None, gt=0, le=3600)
    idempotency_key: str | None = Field(default=None, max_length=200)
    priority: int | None = Field(default=None, ge=1, le=5)
    pinned_target: str | None = None
    durable_attempts: bool = False
    metadata: dict[str, str] = Field(default_factory=dict)
    stream_shared: bool = False
    prefer_cheaper: bool = False
    cache: CachePolicy = "default"
    plan: Plan | None = None  # planned by the caller before the start (the gateway): no planning step
    force_target: str | None = None


class AttemptRecord(_Model):
    """One call of one target, as it appears in the routing trace.

    ``seq`` numbers the targets tried in this request (1, 2, ...); ``try_no`` is Temporal's
    attempt number of that activity (1 = first try, 2 = first same-target retry, ...).
    ``error_class`` is ``None`` for the successful call. Latencies in ms. ``message`` is the
    provider's error message, never model output. ``streamed_chars``: for a streamed answer, how many
    chars of the text the client received this call produced (a part of a rescued answer);
    ``cost_usd``: what a failed call that produced such a part costs (USD, estimated tokens).
    ``variant``: the route's prompt variant sent to this target (``core/prompt_variants.py``;
    ``None``: the route has no prompts); ``rewrite``: the id of the stored prompt rewrite sent
    instead of the variant's system text (``core/prompt_transform.py``), if any.
    """

    seq: int
    try_no: int = 1
    target: str
    error_class: str | None = None
    status: int | None = None
    latency_ms: float = 0.0
    message: str = ""
    retry_after_s: float | None = None
    streamed_chars: int | None = None
    cost_usd: float | None = None
    variant: str | None = None
    rewrite: str | None = None


class RoutingTrace(_Model):
    """Why the answer came from where it came from.

    ``plan``: the ordered target ids planning chose; ``skipped``: ``target -> reason`` for targets
    left out; ``failovers``: how many times the walk moved to another target; ``failover_reasons``:
    error class -> count; ``rescues``: how many times a stream cut after its first token was continued
    by the next target; ``cost_usd``: summed over the successful call and the billed parts of a
    rescued stream (other failed calls are not billed by providers); ``latency_ms``: whole workflow,
    by the workflow clock. ``cache``: how the request met the route's response cache (``hit``,
    ``stale``, ``miss``, ``bypass``; ``None``: the route has no cache); ``cache_age_s``: age of a
    served entry (s); ``saved_usd``: the original cost of a served entry, not billed again;
    ``cache_similarity``: the cosine similarity of a semantic cache match (``None``: exact).
    ``canary``: the plan put the first backup first (``core/canary.py``); ``forced``: the target a
    drill or eval run forced. ``normalization``: what the route's output normalisation changed in
    the answer, with the raw answer's payload ref and the JSON repair call if any
    (``core/quality_trace.py``).
    """

    route: str
    plan: list[str] = Field(default_factory=list)
    plan_reasons: dict[str, list[str]] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict)
    target_used: str | None = None
    attempts: list[AttemptRecord] = Field(default_factory=list)
    failovers: int = 0
    failover_reasons: dict[str, int] = Field(default_factory=dict)
    rescues: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    notes: list[str] = Field(default_factory=list)
    cache: CacheStatus | None = None
    cache_age_s: float | None = None
    saved_usd: float = 0.0
    cache_similarity: float | None = None
    canary: bool = False
    forced: str | None = None
    normalization: Normalization | None = None


class RequestResult(_Model):
    """The answer (OpenAI ``chat.completion`` shape) and its routing trace.

    When the answer was larger than the inline payload limit, ``response`` is ``None`` and
    ``response_ref`` names the stored payload (``activities/storage/payloads.py``); the client
    helper resolves it.
    """

    workflow_id: str
    response: ChatResponse | None = None
    response_ref: str | None = None
    trace: RoutingTrace


class RequestFailure(_Model):
    """Details attached to the workflow's final ``ApplicationError`` when no target answered."""

    error_class: str
    message: str
    status: int
    retry_after_s: float | None = None
    trace: RoutingTrace
