"""``AIRequestWorkflow``: one AI request, planned and walked along its fallback chain.

Steps: plan (local activity) -> for each planned target, one attempt activity with that target's
timeout, until one answers -> search attributes and current details for the audit -> result with
the routing trace. Failures are decided from the attempt's error ``type`` alone (``core/walk.py``).

Why these Temporal choices (figures from ``shared/TEMPORAL.md`` section 0, 2-core dev server):

- **Local activities** for planning and attempts (default): no server round trip per call, 15 ms
  vs 50 ms p50 for a one-call workflow, 6 history events instead of 11. Each attempt is its own
  local activity, run sequentially with a bounded retry policy and a ``schedule_to_close``
  bounded by the caller's deadline, so every attempt and its error class is in history (one
  marker each) and no retry outlives the caller (recommendation 2). No ``asyncio.gather`` over
  local activities (sdk-python #1578).
- **Regular activities** when ``durable_attempts`` is set (batch items, long generations): one
  durable record per call, so a worker crash mid-task does not re-run (and re-bill) calls that
  already finished; the latency cost does not matter there (recommendation 4).
- **Eager start** is the caller's side: the gateway and the embedded client helper start this
  workflow with ``request_eager_start=True`` from a process that hosts a worker, so the first
  workflow task - which here is usually the whole request - runs in-process (recommendation 1).
- The start request sets a 30 s workflow task timeout so a normal call fits in one task without
  task heartbeats (recommendation 3).

Deterministic: time comes from ``workflow.time()``; I/O only through activities.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.attempt import AttemptFailure, AttemptInput, AttemptResult
    from core.errors import ErrorClass
    from core.names import ATTEMPT_ACTIVITY, PLAN_ACTIVITY, REQUEST_WORKFLOW
    from core.plan import Plan, PlanEntry, PlanInput
    from core.request import AttemptRecord, RequestFailure, RequestInput, RequestResult, RoutingTrace
    from core.tokens import estimate_prompt_tokens
    from core.walk import ChainWalk, Stop
    from workflows.options import DEFAULT_OPTIONS, MIN_ATTEMPT_BUDGET_S


@workflow.defn(name=REQUEST_WORKFLOW)
class AIRequestWorkflow:
    """Input :class:`core.request.RequestInput`; result :class:`core.request.RequestResult`.

    Fails with a non-retryable ``ApplicationError`` whose ``type`` is the caller-facing class
    (``InvalidRequest``, ``ContextLengthExceeded``, ``ContentFiltered``, ``RateLimited``,
    ``CallerDeadline``, ``AllTargetsFailed``) and whose details hold a
    :class:`core.request.RequestFailure` with the trace.
    """

    @workflow.run
    async def run(self, inp: RequestInput) -> RequestResult:
        started = workflow.time()
        plan = await self._plan(inp)
        budget = inp.deadline_s or plan.deadline_s
        trace = RoutingTrace(route=plan.route, plan=[e.target for e in plan.entries],
                             plan_reasons={e.target: e.reasons for e in plan.entries}, skipped=plan.skipped)
        walk = ChainWalk(plan)
        seq = 0
        stop: Stop | None = None
        while (entry := walk.next()) is not None:
            remaining = budget - (workflow.time() - started)
            if remaining < MIN_ATTEMPT_BUDGET_S:
                stop = walk.deadline()
                break
            seq += 1
            try:
                res = await self._attempt(inp, plan, entry, seq, remaining)
            except (ActivityError, ApplicationError, TimeoutError) as err:
                failure = _failure(err, entry, remaining)
                trace.attempts += failure.earlier_tries + [_record(seq, failure)]
                stop = walk.fail(entry, failure)
                if stop:
                    break
                trace.failovers += 1
                trace.failover_reasons[failure.error_class] = trace.failover_reasons.get(failure.error_class, 0) + 1
                continue
            return self._answered(inp, trace, walk, res, seq, started)
        stop = stop or walk.exhausted(workflow.time())
        raise self._failed(inp, trace, walk, stop, started)

    async def _plan(self, inp: RequestInput) -> Plan:
        req = inp.request
        caps = (["json"] if req.wants_json() else []) + (["tools"] if req.tools else [])
        pin = PlanInput(task_type=inp.task_type, tenant=inp.tenant, origin_region=inp.origin_region,
                        estimated_prompt_tokens=estimate_prompt_tokens(req), output_cap=req.output_cap(),
                        required_capabilities=caps, pinned_target=inp.pinned_target)
        try:
            return await workflow.execute_local_activity(
                PLAN_ACTIVITY, pin, result_type=Plan, schedule_to_close_timeout=DEFAULT_OPTIONS.plan_timeout,
                retry_policy=DEFAULT_OPTIONS.plan_retry)
        except (ActivityError, ApplicationError, TimeoutError) as err:
            cause = err.cause if isinstance(err, ActivityError) else err
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            self._set_audit(inp, None, "caller_error", 0, 0)
            raise ApplicationError(message, RequestFailure(
                error_class=ErrorClass.INVALID_REQUEST.value, message=message, status=400,
                trace=RoutingTrace(route=inp.task_type or "")).model_dump(mode="json"),
                type=ErrorClass.INVALID_REQUEST.value, non_retryable=True) from None

    async def _attempt(self, inp: RequestInput, plan: Plan, entry: PlanEntry, seq: int,
                       remaining: float) -> AttemptResult:
        info = workflow.info()
        arg = AttemptInput(workflow_id=info.workflow_id, run_id=info.run_id, seq=seq, target=entry.target,
                           request=inp.request, task_type=plan.route, tenant=inp.tenant,
                           timeout_s=entry.timeout_s, caller_budget_s=remaining,
                           max_retry_wait_s=plan.max_retry_wait_s, max_tries=plan.retries + 1)
        opts = DEFAULT_OPTIONS.attempt(entry, plan.retries + 1, remaining)
        if inp.durable_attempts:
            return await workflow.execute_activity(ATTEMPT_ACTIVITY, arg, result_type=AttemptResult,
                                                   summary=entry.target, **opts)
        return await workflow.execute_local_activity(ATTEMPT_ACTIVITY, arg, result_type=AttemptResult,
                                                     summary=entry.target, **opts)

    def _answered(self, inp: RequestInput, trace: RoutingTrace, walk: ChainWalk, res: AttemptResult,
                  seq: int, started: float) -> RequestResult:
        trace.attempts += res.earlier_tries + [AttemptRecord(seq=seq, try_no=res.try_no, target=res.target,
                                                             latency_ms=res.latency_ms)]
        trace.target_used = res.target
        trace.cost_usd = res.cost_usd
        trace.notes = walk.notes + res.notes
        trace.latency_ms = (workflow.time() - started) * 1000.0
        self._set_audit(inp, res.target, "ok", trace.failovers, trace.latency_ms)
        workflow.set_current_details(f"Answered by **{res.target}** after {trace.failovers} failover(s) "
                                     f"in {trace.latency_ms:.0f} ms, cost ${trace.cost_usd:.6f}.")
        return RequestResult(workflow_id=workflow.info().workflow_id, response=res.response,
                             response_ref=res.response_ref, trace=trace)

    def _failed(self, inp: RequestInput, trace: RoutingTrace, walk: ChainWalk, stop: Stop,
                started: float) -> ApplicationError:
        trace.notes = walk.notes
        trace.latency_ms = (workflow.time() - started) * 1000.0
        caller_side = stop.status < 500 and stop.status != 429
        self._set_audit(inp, None, "caller_error" if caller_side else "failed", trace.failovers, trace.latency_ms)
        workflow.set_current_details(f"**{stop.error_class}** ({stop.status}): {stop.message[:500]}")
        details = RequestFailure(error_class=stop.error_class, message=stop.message, status=stop.status,
                                 retry_after_s=stop.retry_after_s, trace=trace)
        return ApplicationError(stop.message, details.model_dump(mode="json"), type=stop.error_class,
                                non_retryable=True)

    def _set_audit(self, inp: RequestInput, target: str | None, outcome: str, failovers: int,
                   latency_ms: float) -> None:
        updates = [sa.OUTCOME.value_set(outcome), sa.FAILOVER_COUNT.value_set(failovers),
                   sa.LATENCY_MS.value_set(int(latency_ms))]
        if target:
            provider, _, rest = target.partition("/")
            updates += [sa.FINAL_PROVIDER.value_set(provider), sa.FINAL_MODEL.value_set(rest.rpartition("@")[0]),
                        sa.FINAL_TARGET.value_set(target)]
        workflow.upsert_search_attributes(updates)


def _failure(err: ActivityError | ApplicationError | TimeoutError, entry: PlanEntry,
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


def _record(seq: int, f: AttemptFailure) -> AttemptRecord:
    return AttemptRecord(seq=seq, try_no=f.try_no, target=f.target, error_class=f.error_class, status=f.status,
                         latency_ms=f.latency_ms, message=f.message, retry_after_s=f.retry_after_s)

