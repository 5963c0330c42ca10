"""The request path's plan + walk loop, shared by ``AIRequestWorkflow`` and ``ConversationWorkflow``.

Workflow code (deterministic; call only from a workflow). One request or one conversation turn:

    plan (local activity ``switchyard.plan``)  ->  for each planned target, ``call(entry, seq, remaining)``
    until one answers or ``core/walk.py`` stops the walk  ->  :class:`Walked` (trace + answer or stop)

The caller supplies ``call``, the coroutine that runs one attempt: the request workflow runs the
plain attempt activity; a conversation turn runs its own attempt activity, which prepends the stored
transcript to the new messages before calling the same provider code. Keeping the loop here means a
fix to failover, deadline or trace logic reaches both paths. The command sequence is the one
``AIRequestWorkflow`` always had (plan marker, then one marker or activity per attempt), so recorded
request histories replay unchanged (``tests/integration/test_replay.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from core import semantic
    from core.attempt import AttemptFailure, AttemptResult, Partial
    from core.cache import request_digest
    from core.chat import ChatRequest
    from core.errors import ErrorClass
    from core.names import PLAN_ACTIVITY
    from core.plan import Plan, PlanEntry, PlanInput
    from core.request import AttemptRecord, RequestInput, RoutingTrace
    from core.tokens import estimate_prompt_tokens
    from core.walk import ChainWalk, Stop
    from workflows.options import DEFAULT_OPTIONS, MIN_ATTEMPT_BUDGET_S

#: One attempt: ``(plan entry, seq, remaining caller budget in s, partial answer to continue or
#: None, error class of the failure that moved the walk to this target or None, whether the attempt
#: may make the request's one JSON repair call) -> AttemptResult``; raises the activity's error
#: (``ActivityError``, or the bare ``ApplicationError``/``TimeoutError`` of a local activity).
AttemptCall = Callable[[PlanEntry, int, float, Partial | None, str | None, bool], Awaitable[AttemptResult]]

#: Caller-facing status of a stream that broke after its first token and could not be continued.
STREAM_BROKEN_STATUS = 502


class PlanRejected(Exception):
    """Planning refused the request (unknown task type, ...); ``message`` is for the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Walked:
    """How a walk ended: ``result`` (the answering attempt) or ``stop`` (the caller's error);
    ``seq``: the last attempt number used; ``trace`` holds every call so far; ``rescue``: the
    partial answer the last attempt continued (``None`` when no stream broke after its first token)."""

    trace: RoutingTrace
    walk: ChainWalk
    result: AttemptResult | None
    seq: int
    stop: Stop | None
    rescue: Partial | None = None


def plan_input(inp: RequestInput, *, estimated_prompt_tokens: int | None = None, cache: bool = False) -> PlanInput:
    """What planning needs from a request: route, origin, token estimate, required capabilities
    (``chat`` always, so an embedding-only target is never sent a chat request; ``json`` for a
    JSON response format, ``tools`` when tools are declared) and the pin.
    ``estimated_prompt_tokens`` overrides the estimate of ``inp.request`` (a conversation turn
    counts its stored history too). ``cache``: the request may use the route's response cache
    (its digest, the caller's policy and temperature go along, ``core/cache.py``)."""
    req = inp.request
    caps = ["chat"] + (["json"] if req.wants_json() else []) + (["tools"] if req.tools else [])
    tokens = estimate_prompt_tokens(req) if estimated_prompt_tokens is None else estimated_prompt_tokens
    cacheable = cache and inp.cache != "off" and not inp.force_target
    return PlanInput(task_type=inp.task_type, tenant=inp.tenant, origin_region=inp.origin_region,
                     estimated_prompt_tokens=tokens, output_cap=req.output_cap(),
                     required_capabilities=caps, pinned_target=inp.pinned_target,
                     prefer_cheaper=inp.prefer_cheaper,
                     cache_digest=request_digest(req) if cacheable else None,
                     cache_policy=inp.cache, temperature=req.temperature, force_target=inp.force_target,
                     **_semantic(req, cacheable))


def _semantic(req: ChatRequest, cacheable: bool) -> dict[str, Any]:
    """The semantic cache's fields of the plan input (``core/semantic.py``); none when not cacheable."""
    q = semantic.question(req, multi_turn=True) if cacheable else None
    if q is None:
        return {}
    return {"semantic_question": q, "semantic_first_turn": semantic.question(req) is not None,
            "semantic_context": semantic.context_digest(req)}


async def make_plan(pin: PlanInput) -> Plan:
    """Run the planning local activity; raises :class:`PlanRejected` with the caller's message."""
    try:
        return await workflow.execute_local_activity(
            PLAN_ACTIVITY, pin, result_type=Plan, schedule_to_close_timeout=DEFAULT_OPTIONS.plan_timeout,
            retry_policy=DEFAULT_OPTIONS.plan_retry)
    except (ActivityError, ApplicationError, TimeoutError) as err:
        cause = err.cause if isinstance(err, ActivityError) else err
        raise PlanRejected(cause.message if isinstance(cause, ApplicationError) else str(err)) from None


def new_trace(plan: Plan) -> RoutingTrace:
    """An empty routing trace carrying the plan (order, reasons, skipped targets)."""
    return RoutingTrace(route=plan.route, plan=[e.target for e in plan.entries],
                        plan_reasons={e.target: e.reasons for e in plan.entries}, skipped=plan.skipped,
                        canary=plan.canary, forced=plan.forced)


async def walk_plan(plan: Plan, budget_s: float, started: float, call: AttemptCall, *,
                    first_seq: int = 1) -> Walked:
    """Walk ``plan`` with ``call`` until a target answers or the walk stops.

    ``budget_s``: the caller's whole deadline in s, counted from ``started`` (``workflow.time()``).
    ``first_seq``: the number of the first attempt (outcome rows are keyed by workflow id + seq, so
    a conversation continues its numbering from turn to turn). A returned ``stop`` is always set
    when ``result`` is ``None``."""
    trace = new_trace(plan)
    walk = ChainWalk(plan)
    seq = first_seq - 1
    stop: Stop | None = None
    moved_from: str | None = None  # error class of the failure that sent the walk on
    rescue: Partial | None = None  # what the client has received of a stream that broke
    repair_left = True  # one JSON repair call per request (core/normalize.py)
    while (entry := walk.next()) is not None:
        remaining = budget_s - (workflow.time() - started)
        if remaining < MIN_ATTEMPT_BUDGET_S:
            stop = walk.deadline()
            break
        after = moved_from
        if moved_from is not None:  # a failover counts once the walk really moves to a next target
            trace.failovers += 1
            trace.failover_reasons[moved_from] = trace.failover_reasons.get(moved_from, 0) + 1
            moved_from = None
        seq += 1
        try:
            res = await call(entry, seq, remaining, rescue, after, repair_left)
        except (ActivityError, ApplicationError, TimeoutError) as err:
            failure = attempt_failure(err, entry, remaining)
            repair_left = repair_left and not failure.repair_used
            trace.attempts += failure.earlier_tries + [attempt_record(seq, failure, rescue)]
            stop = walk.fail(entry, failure) or _stream_stop(plan, failure, rescue)
            if failure.partial is not None and not failure.partial.empty():
                rescue = failure.partial
            if stop:
                break
            moved_from = failure.error_class
            continue
        return Walked(trace, walk, res, seq, None, rescue)
    return Walked(trace, walk, None, seq, stop or walk.exhausted(workflow.time()), rescue)


def _stream_stop(plan: Plan, failure: AttemptFailure, before: Partial | None) -> Stop | None:
    """A streamed failure that ends the request: the answer the client holds cannot be made valid
    (``stop_walk``), or the stream broke after its first token on a route with ``rescue: off``."""
    if failure.stop_walk:
        return Stop(error_class=failure.error_class, status=STREAM_BROKEN_STATUS, message=failure.message)
    broke = failure.partial is not None and len(failure.partial.text) + len(failure.partial.tool_calls) > (
        len(before.text) + len(before.tool_calls) if before else 0)
    if broke and plan.rescue == "off":
        return Stop(error_class=failure.error_class, status=STREAM_BROKEN_STATUS,
                    message=f"the stream from {failure.target} broke after its first token "
                            f"({failure.error_class}: {failure.message}) and the route's rescue is off")
    return None


def finish_trace(walked: Walked, started: float) -> RoutingTrace:
    """Complete the trace of a walk: the answering call (with its earlier same-target tries), the
    target used, cost, notes and the latency in ms by the workflow clock."""
    trace, res = walked.trace, walked.result
    trace.latency_ms = (workflow.time() - started) * 1000.0
    if res is None:
        trace.notes = walked.walk.notes
        return trace
    rescued = walked.rescue
    chars = None
    if res.response is not None and rescued is not None:
        chars = len(res.response.text()) - len(rescued.text)
    trace.attempts += res.earlier_tries + [AttemptRecord(seq=walked.seq, try_no=res.try_no, target=res.target,
                                                         latency_ms=res.latency_ms, streamed_chars=chars,
                                                         variant=res.variant, rewrite=res.rewrite)]
    trace.normalization = res.normalization
    trace.target_used = res.target
    trace.cost_usd = res.cost_usd + (rescued.cost_usd if rescued else 0.0)
    trace.rescues = sum(1 for a in trace.attempts if a.error_class and a.streamed_chars)
    trace.notes = walked.walk.notes + res.notes
    return trace


def attempt_failure(err: ActivityError | ApplicationError | TimeoutError, entry: PlanEntry,
                    remaining: float) -> AttemptFailure:
    """The :class:`AttemptFailure` behind an activity error (Temporal timeouts included).

    A regular activity's failure arrives wrapped in ``ActivityError``; a local activity's, with
    temporalio 1.35, arrives as the bare ``ApplicationError``/``TimeoutError``: both are handled."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError) and cause.details:
        return AttemptFailure.model_validate(cause.details[0])
    if isinstance(cause, ApplicationError):
        return AttemptFailure(target=entry.target, error_class=cause.type or "Unknown", message=cause.message)
    if isinstance(cause, TimeoutError):
        caller = remaining < entry.timeout_s
        cls = ErrorClass.CALLER_DEADLINE if caller else ErrorClass.TIMEOUT
        return AttemptFailure(target=entry.target, error_class=cls.value,
                              message=f"activity {cause.type.name.lower()} timeout", latency_ms=0.0)
    return AttemptFailure(target=entry.target, error_class=ErrorClass.SERVER_ERROR.value, message=str(cause))


def attempt_record(seq: int, f: AttemptFailure, before: Partial | None = None) -> AttemptRecord:
    """The trace record of a failed attempt; ``before``: the partial answer it continued, so the
    record says how many chars of the client's text this call produced."""
    chars = None
    if f.partial is not None:
        chars = len(f.partial.text) - (len(before.text) if before else 0)
    return AttemptRecord(seq=seq, try_no=f.try_no, target=f.target, error_class=f.error_class, status=f.status,
                         latency_ms=f.latency_ms, message=f.message, retry_after_s=f.retry_after_s,
                         streamed_chars=chars, cost_usd=f.cost_usd or None, variant=f.variant, rewrite=f.rewrite)
