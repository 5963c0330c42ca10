"""``EmbeddingWorkflow``: one embeddings request, planned and walked along its fallback chain.

The same plan + walk as ``AIRequestWorkflow`` (``workflows/chain.py``): planning picks the route's
targets that have the ``embeddings`` capability (health, cooldowns and learned order apply), then
one embed local activity per target until one answers; every input goes to that one target, so the
vectors of a response come from one model. The result is a :class:`core.request.RequestResult`
whose ``response_ref`` names the stored vectors (they never enter history) and whose trace lists
every call. Deterministic: time from ``workflow.time()``, I/O only through activities.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.attempt import AttemptResult, Partial
    from core.embeddings import EmbedCall, EmbeddingInput
    from core.errors import ErrorClass
    from core.names import EMBED_ACTIVITY, EMBEDDING_WORKFLOW
    from core.plan import Plan, PlanEntry, PlanInput
    from core.request import RequestFailure, RequestResult, RoutingTrace
    from core.tokens import estimate_text_tokens
    from workflows.chain import PlanRejected, finish_trace, make_plan, walk_plan
    from workflows.options import DEFAULT_OPTIONS


@workflow.defn(name=EMBEDDING_WORKFLOW, sandboxed=False)
class EmbeddingWorkflow:
    """Input :class:`core.embeddings.EmbeddingInput`; result :class:`core.request.RequestResult`.

    Fails like ``AIRequestWorkflow``: a non-retryable ``ApplicationError`` typed with the
    caller-facing class, its details a :class:`core.request.RequestFailure` with the trace."""

    @workflow.run
    async def run(self, inp: EmbeddingInput) -> RequestResult:
        started = workflow.time()
        try:
            plan = await make_plan(PlanInput(task_type=inp.task_type, tenant=inp.tenant,
                                             estimated_prompt_tokens=sum(estimate_text_tokens(t) for t in inp.inputs),
                                             output_cap=0, required_capabilities=["embeddings"]))
        except PlanRejected as err:
            raise _failure(ErrorClass.INVALID_REQUEST.value, err.message, 400,
                           RoutingTrace(route=inp.task_type or "")) from None

        async def call(entry: PlanEntry, seq: int, remaining: float, rescue: Partial | None,
                       after: str | None, repair: bool) -> AttemptResult:
            return await self._embed(inp, plan, entry, seq, remaining)

        walked = await walk_plan(plan, inp.deadline_s or plan.deadline_s, started, call)
        trace = finish_trace(walked, started)
        if walked.result is None:
            assert walked.stop is not None
            self._audit(None, "failed", trace)
            raise _failure(walked.stop.error_class, walked.stop.message, walked.stop.status, trace,
                           walked.stop.retry_after_s)
        self._audit(walked.result.target, "ok", trace)
        workflow.set_current_details(f"Embedded {len(inp.inputs)} input(s) on **{walked.result.target}** after "
                                     f"{trace.failovers} failover(s) in {trace.latency_ms:.0f} ms.")
        return RequestResult(workflow_id=workflow.info().workflow_id, response_ref=walked.result.response_ref,
                             trace=trace)

    async def _embed(self, inp: EmbeddingInput, plan: Plan, entry: PlanEntry, seq: int,
                     remaining: float) -> AttemptResult:
        info = workflow.info()
        arg = EmbedCall(workflow_id=info.workflow_id, run_id=info.run_id, seq=seq, target=entry.target,
                        inputs=inp.inputs, dimensions=inp.dimensions, task_type=plan.route, tenant=inp.tenant,
                        timeout_s=min(entry.timeout_s, remaining))
        return await workflow.execute_local_activity(EMBED_ACTIVITY, arg, result_type=AttemptResult,
                                                     summary=entry.target,
                                                     **DEFAULT_OPTIONS.attempt(entry, plan.retries + 1, remaining))

    def _audit(self, target: str | None, outcome: str, trace: RoutingTrace) -> None:
        updates = [sa.OUTCOME.value_set(outcome), sa.FAILOVER_COUNT.value_set(trace.failovers),
                   sa.LATENCY_MS.value_set(int(trace.latency_ms))]
        if target:
            updates.append(sa.FINAL_TARGET.value_set(target))
        workflow.upsert_search_attributes(updates)


def _failure(error_class: str, message: str, status: int, trace: RoutingTrace,
             retry_after_s: float | None = None) -> ApplicationError:
    details = RequestFailure(error_class=error_class, message=message, status=status, retry_after_s=retry_after_s,
                             trace=trace)
    return ApplicationError(message, details.model_dump(mode="json"), type=error_class, non_retryable=True)
