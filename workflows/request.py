"""``AIRequestWorkflow``: one AI request, planned and walked along its fallback chain.

Steps: plan (local activity; skipped when the caller passed the plan in the input, as the gateway
does) -> for each planned target, one attempt activity with that target's
timeout, until one answers -> search attributes and current details for the audit -> result with
the routing trace. Failures are decided from the attempt's error ``type`` alone (``core/walk.py``).
The plan + walk loop lives in ``workflows/chain.py``, shared with conversation turns.

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
- **Outside the sandbox** (``sandboxed=False``, recommendation 10's exception for the hot
  workflow): ``bench/overhead.py`` measured p50 47 -> 39 ms per request (the sandbox's per-run
  module set-up). Determinism is still guarded: the plan + walk code in ``workflows/chain.py``
  also runs *inside* the sandbox as ``ConversationWorkflow`` turns (whose tests would trip on a
  ``datetime.now()`` or I/O), and recorded histories of this workflow are replayed in CI
  (``tests/integration/test_replay.py``).

Deterministic: time comes from ``workflow.time()``; I/O only through activities.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.attempt import AttemptInput, AttemptResult, Partial
    from core.cache import CACHE_TARGET, CacheHit
    from core.errors import ErrorClass
    from core.names import ATTEMPT_ACTIVITY, CACHE_STALE_ACTIVITY, REQUEST_WORKFLOW
    from core.plan import Plan, PlanEntry, StaleLookup
    from core.request import RequestFailure, RequestInput, RequestResult, RoutingTrace
    from core.walk import Stop
    from workflows import metrics
    from workflows.chain import PlanRejected, finish_trace, make_plan, new_trace, plan_input, walk_plan
    from workflows.options import DEFAULT_OPTIONS


#: History length during a workflow's first task (started, task scheduled, task started): a longer
#: one means the task is a later one (a retried task after a worker died, a heartbeated task).
FIRST_TASK_EVENTS = 3


def attempt_input(inp: RequestInput, plan: Plan, entry: PlanEntry, seq: int, remaining: float, *,
                  workflow_id: str, run_id: str = "", rescue: Partial | None = None, after: str | None = None,
                  repair: bool = True, recovering: bool = False) -> AttemptInput:
    """The input of attempt ``seq`` (on ``entry``, ``remaining`` s of the caller's budget left) of
    the request ``inp`` walking ``plan``. Pure: the workflow builds every attempt with it, and the
    gateway builds the first one the same way when it head-starts it (``activities/head_start.py``)."""
    return AttemptInput(workflow_id=workflow_id, run_id=run_id, seq=seq, target=entry.target,
                        request=inp.request, task_type=plan.route, tenant=inp.tenant,
                        timeout_s=entry.timeout_s, caller_budget_s=remaining,
                        max_retry_wait_s=plan.max_retry_wait_s, max_tries=plan.retries + 1,
                        stream=bool(inp.request.stream), stream_shared=inp.stream_shared, rescue=rescue,
                        priority=inp.priority, failover_after=after, cache_key=plan.cache_key,
                        recovering=recovering, repair_allowed=repair, head_start=plan.head_start and seq == 1)


@workflow.defn(name=REQUEST_WORKFLOW, sandboxed=False)
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
        if plan.cache_hit is not None:  # answered by the planning step's cache lookup: nothing is walked
            return self._from_cache(inp, plan, plan.cache_hit, new_trace(plan), started)
        walked = await walk_plan(plan, inp.deadline_s or plan.deadline_s, started,
                                 lambda entry, seq, remaining, rescue, after, repair: self._attempt(
                                     inp, plan, entry, seq, remaining, rescue, after, repair))
        trace = finish_trace(walked, started)
        trace.cache = plan.cache_status
        if walked.result is not None:
            return self._answered(inp, trace, walked.result)
        assert walked.stop is not None
        if (stale := await self._stale(inp, plan, walked.stop)) is not None:
            return self._from_cache(inp, plan, stale, trace, started)
        raise self._failed(inp, trace, walked.stop)

    async def _plan(self, inp: RequestInput) -> Plan:
        if inp.plan is not None:  # planned by the caller just before the start: recorded with the input
            return inp.plan
        try:
            return await make_plan(plan_input(inp, cache=True))
        except PlanRejected as err:
            self._set_audit(inp, None, "caller_error", 0, 0)
            raise ApplicationError(err.message, RequestFailure(
                error_class=ErrorClass.INVALID_REQUEST.value, message=err.message, status=400,
                trace=RoutingTrace(route=inp.task_type or "")).model_dump(mode="json"),
                type=ErrorClass.INVALID_REQUEST.value, non_retryable=True) from None

    async def _attempt(self, inp: RequestInput, plan: Plan, entry: PlanEntry, seq: int,
                       remaining: float, rescue: Partial | None, after: str | None,
                       repair: bool = True) -> AttemptResult:
        info = workflow.info()
        arg = attempt_input(inp, plan, entry, seq, remaining, workflow_id=info.workflow_id, run_id=info.run_id,
                            rescue=rescue, after=after, repair=repair,
                            recovering=seq == 1 and info.get_current_history_length() > FIRST_TASK_EVENTS)
        opts = DEFAULT_OPTIONS.attempt(entry, plan.retries + 1, remaining)
        if inp.durable_attempts:
            return await workflow.execute_activity(ATTEMPT_ACTIVITY, arg, result_type=AttemptResult,
                                                   summary=entry.target, **opts)
        return await workflow.execute_local_activity(ATTEMPT_ACTIVITY, arg, result_type=AttemptResult,
                                                     summary=entry.target, **opts)

    async def _stale(self, inp: RequestInput, plan: Plan, stop: Stop) -> CacheHit | None:
        """Serve stale (the route's ``cache.stale_if_error_s``): when the chain failed on the
        providers' side (5xx, 429; never a caller error), an expired entry still within the window."""
        if plan.stale_key is None or (stop.status < 500 and stop.status != 429):
            return None
        return await workflow.execute_local_activity(
            CACHE_STALE_ACTIVITY, StaleLookup(route=plan.route, tenant=inp.tenant, key=plan.stale_key),
            result_type=CacheHit | None, schedule_to_close_timeout=DEFAULT_OPTIONS.plan_timeout,
            retry_policy=DEFAULT_OPTIONS.plan_retry)

    def _from_cache(self, inp: RequestInput, plan: Plan, hit: CacheHit, trace: RoutingTrace,
                    started: float) -> RequestResult:
        """The result of an answer served from the cache: target ``cache``, nothing billed, the
        saving and age in the trace."""
        trace.target_used = CACHE_TARGET
        trace.cache = hit.state
        trace.cache_age_s = hit.age_s
        trace.saved_usd = hit.saved_usd
        trace.cache_similarity = hit.similarity
        trace.cost_usd = 0.0
        trace.latency_ms = (workflow.time() - started) * 1000.0
        match = "" if hit.similarity is None else f" (semantic match, similarity {hit.similarity:.3f})"
        trace.notes.append(f"cache {hit.state}{match}: first answered by {hit.source_target} {hit.age_s:.0f} s ago")
        self._set_audit(inp, CACHE_TARGET, "ok", trace.failovers, trace.latency_ms)
        label = "Served **stale** from the cache after every target failed" if hit.state == "stale" else \
            "Served from the cache"
        workflow.set_current_details(f"{label} (age {hit.age_s:.0f} s, first answered by {hit.source_target}, "
                                     f"saved ${hit.saved_usd:.6f}).")
        return RequestResult(workflow_id=workflow.info().workflow_id, response=hit.response, trace=trace)

    def _answered(self, inp: RequestInput, trace: RoutingTrace, res: AttemptResult) -> RequestResult:
        self._set_audit(inp, res.target, "ok", trace.failovers, trace.latency_ms)
        metrics.record_request(trace.route, inp.tenant, "ok", trace)
        parts = ""
        if trace.rescues:  # which target produced which part of a rescued stream
            parts = " Stream rescued: " + ", ".join(f"{a.target} wrote {a.streamed_chars} chars"
                                                    for a in trace.attempts if a.streamed_chars) + "."
        workflow.set_current_details(f"Answered by **{res.target}** after {trace.failovers} failover(s) "
                                     f"in {trace.latency_ms:.0f} ms, cost ${trace.cost_usd:.6f}.{parts}")
        return RequestResult(workflow_id=workflow.info().workflow_id, response=res.response,
                             response_ref=res.response_ref, trace=trace)

    def _failed(self, inp: RequestInput, trace: RoutingTrace, stop: Stop) -> ApplicationError:
        caller_side = stop.status < 500 and stop.status != 429
        outcome = "caller_error" if caller_side else "failed"
        self._set_audit(inp, None, outcome, trace.failovers, trace.latency_ms)
        metrics.record_request(trace.route, inp.tenant, outcome, trace)
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
