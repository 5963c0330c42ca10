"""The attempt activity's input, result and failure details.

One attempt = one target called by the ``switchyard.attempt`` activity; Temporal's retry policy may
run it several times on the same target (``try_no``). The activity writes one outcome row per try,
keyed by ``(workflow_id, seq, try_no)``, so a retried activity updates its own row and never adds
a duplicate.

Pure data: importable inside workflows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.chat import ChatRequest, ChatResponse, ToolCall, Usage
from core.quality_trace import Normalization
from core.request import AttemptRecord


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Partial(_Model):
    """What the client has already received of a streamed answer when its attempt failed after the
    first token: the glued ``text`` so far and the complete ``tool_calls`` (arguments whole; a call
    cut mid-arguments is never part of it), the ``model`` that produced the last of it, and the
    summed ``usage`` / ``cost_usd`` (USD) of the parts that produced it (estimated from the text
    when a cut stream sent no usage). A rescue attempt continues from it (``core/rescue.py``)."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    model: str = ""
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0

    def empty(self) -> bool:
        """True when nothing was committed to the client."""
        return not self.text and not self.tool_calls


class AttemptInput(_Model):
    """Everything one attempt needs; no secrets (the activity reads keys from its environment).

    ``timeout_s``: the target's own timeout for one call. ``caller_budget_s``: what is left of the
    caller's deadline when the attempt is scheduled; if it is shorter and runs out first, the
    failure is the caller's (``CallerDeadline``), not the target's. ``max_retry_wait_s``: the
    longest Retry-After waited on this target. ``max_tries``: 1 + the route's retries.
    ``stream``: call upstream in streaming mode under the target's first-token and idle timeouts
    and publish the deltas for a reader (``activities/streams/``) under ``stream_id()``; ``stream_shared``: publish to
    the shared channel even when a reader is in this process (a resumable stream, several
    replicas). ``rescue``: the partial answer already sent to the client; this attempt continues it.
    ``priority``: the request's Temporal priority key (1..5, ``core/priority.py``; ``None``:
    normal), the share of a target's adaptive concurrency limit it may use. ``failover_after``:
    the error class of the failure that moved the walk to this target (``None`` on the first
    target), for the route's failover budget (``core/failover_budget.py``).
    ``cache_key``: store a complete, unflagged answer in the route's response cache under this key
    (``core/cache.py``; ``None``: do not store). ``repair_allowed``: this attempt may make the
    request's one JSON repair call (``core/normalize.py``); ``False`` once an earlier attempt made it.
    ``recovering``: the attempt runs in a later workflow task than the workflow's first (a task
    retried after a worker died, or a heartbeated one): the first attempt then returns the answer
    journaled for an early reply (``activities/early_reply.py``) instead of calling again.
    ``head_start``: the gateway began this (first) attempt's first try before the workflow started
    (``activities/head_start.py``): the activity adopts that try instead of calling.
    """

    workflow_id: str
    run_id: str = ""
    seq: int
    target: str
    request: ChatRequest
    task_type: str
    tenant: str = "default"
    timeout_s: float
    caller_budget_s: float
    max_retry_wait_s: float = 5.0
    max_tries: int = 2
    stream: bool = False
    stream_key: str | None = None
    stream_shared: bool = False
    rescue: Partial | None = None
    priority: int | None = Field(default=None, ge=1, le=5)
    failover_after: str | None = None
    cache_key: str | None = None
    recovering: bool = False  # a later workflow task than the first: look for a journaled answer first
    repair_allowed: bool = True
    head_start: bool = False

    def stream_id(self) -> str:
        """The key the deltas are published under: ``stream_key``, else the workflow id."""
        return self.stream_key or self.workflow_id


class AttemptResult(_Model):
    """A successful attempt: the mapped response (or a reference to it when it was too large
    for a Temporal payload), latency in ms, usage in tokens, cost in USD, and the earlier failed
    tries of this same attempt (from the outcome table) so the trace shows every call.
    ``variant``/``rewrite``: the prompt sent (``core/request.py`` :class:`AttemptRecord`);
    ``normalization``: what output normalisation changed (``core/quality_trace.py``)."""

    target: str
    response: ChatResponse | None = None
    response_ref: str | None = None
    response_bytes: int = 0
    latency_ms: float
    ttft_ms: float | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    try_no: int = 1
    earlier_tries: list[AttemptRecord] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    variant: str | None = None
    rewrite: str | None = None
    normalization: Normalization | None = None


class AttemptFailure(_Model):
    """Details of a failed try, attached to the activity's ``ApplicationError`` (``details[0]``).

    ``cooldown_until``: unix seconds until which planning skips the target (set for long
    Retry-After and for classes with a cooldown). ``earlier_tries``: prior failed tries of this
    attempt, so the workflow's trace lists every call. ``partial``: set when a streamed attempt
    failed after its first token: everything the client has received so far (rescue input).
    ``usage``/``cost_usd``: what this failed call produced and costs (a cut stream is billed).
    ``stop_walk``: the request ends here (a streamed answer the client already holds cannot be
    made valid, e.g. invalid JSON after a rescue). ``variant``/``rewrite``: the prompt sent;
    ``repair_used``: this attempt made the request's one JSON repair call (and it did not help).
    """

    target: str
    error_class: str
    status: int | None = None
    message: str = ""
    latency_ms: float = 0.0
    retry_after_s: float | None = None
    cooldown_until: float | None = None
    try_no: int = 1
    earlier_tries: list[AttemptRecord] = Field(default_factory=list)
    partial: Partial | None = None
    usage: Usage | None = None
    cost_usd: float = 0.0
    stop_walk: bool = False
    variant: str | None = None
    rewrite: str | None = None
    repair_used: bool = False
