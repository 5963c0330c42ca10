"""The gateway's side of early replies (``activities/early_reply.py``): answer from the first
attempt's journaled result, or from the workflow's result, whichever comes first.

Only for a request planned here (``plan_ahead.py``: the routing trace is built from its plan) that
is not keyed (an ``Idempotency-Key`` may attach to an execution running elsewhere) and not served
by the plan's cache hit. Failures, failovers and retries always come from the workflow.
"""

from __future__ import annotations

import asyncio
import time

from temporalio.client import WorkflowHandle

from core.attempt import AttemptResult
from core.plan import Plan
from core.request import AttemptRecord, RequestInput, RequestResult, RoutingTrace
from worker.gateway.state import Gateway
from workflows.options import MIN_ATTEMPT_BUDGET_S

#: Seconds past the caller's deadline to wait for the first try before polling the result.
EARLY_MARGIN_S = 5.0


def may_answer_early(gw: Gateway, inp: RequestInput) -> bool:
    """Whether ``inp`` (planned by ``plan_ahead.py``) may be answered by its first try."""
    plan = inp.plan
    return not (gw.services.early is None or plan is None or plan.cache_hit is not None or inp.idempotency_key
                or inp.request.stream or inp.durable_attempts or not plan.entries
                or (inp.deadline_s or plan.deadline_s) < MIN_ATTEMPT_BUDGET_S)  # the walk would not try at all


def early_result(workflow_id: str, plan: Plan, res: AttemptResult, started: float) -> RequestResult:
    """The result of a request answered by its first attempt's first try, as the workflow builds
    it (``workflows/chain.py`` ``finish_trace``); ``latency_ms`` by the gateway's clock."""
    trace = RoutingTrace(route=plan.route, plan=[e.target for e in plan.entries],
                         plan_reasons={e.target: e.reasons for e in plan.entries}, skipped=plan.skipped,
                         attempts=[AttemptRecord(seq=1, try_no=res.try_no, target=res.target,
                                                 latency_ms=res.latency_ms)],
                         target_used=res.target, cost_usd=res.cost_usd, notes=list(res.notes),
                         cache=plan.cache_status, latency_ms=(time.perf_counter() - started) * 1000.0)
    return RequestResult(workflow_id=workflow_id, response=res.response, response_ref=res.response_ref, trace=trace)


async def first_answer(gw: Gateway, handle: WorkflowHandle[object, RequestResult], plan: Plan | None,
                       early: asyncio.Future[AttemptResult | None] | None, started: float,
                       deadline_s: float | None = None) -> RequestResult:
    """The early answer if the first try offers one, else the workflow's result (raising as
    ``SwitchyardClient.result`` does).

    The workflow's result is only polled when there is no early answer: the first try resolves
    ``early`` with ``None`` when it fails or is refused. Without an eager start (the first task
    went elsewhere) the result is polled at once; if no first try reports within the deadline
    (plus a margin), the result is polled then."""
    eager = bool(getattr(handle, "__temporal_eagerly_started", False))
    if early is None or plan is None or not eager or not plan.entries:
        return await gw.sy.result(handle)
    wait_s = (deadline_s or plan.deadline_s) + EARLY_MARGIN_S
    try:
        res = await asyncio.wait_for(asyncio.shield(early), wait_s)
    except TimeoutError:
        res = None
    if res is None:
        return await gw.sy.result(handle)
    return early_result(handle.id, plan, res, started)
