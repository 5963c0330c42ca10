"""Plan a request in the gateway, just before its workflow starts, and pass the plan in the input.

The planning local activity cost one activity round inside the first workflow task (its body
~1 ms, plus ~3.5 ms of SDK hand-offs before the attempt could start, ``docs/PERFORMANCE.md``). The
gateway runs the same planning code (:meth:`activities.planning.PlanningActivities.make`: live
config, cooldowns, learned rankings, health, response-cache lookup) on the same in-process caches
and puts the :class:`core.plan.Plan` into ``RequestInput.plan``; ``AIRequestWorkflow`` then walks
it without a planning step. The plan is as durable as before: it is part of the workflow's input,
recorded in the ``WorkflowExecutionStarted`` event (instead of a marker one event later), and
replays the same way.

A request planning refuses (unknown task type) goes without a plan: the workflow plans it and fails
it as before, so the rejection stays in history with its 400. Keyed requests are not planned here
(see :func:`plan_ahead`).
"""

from __future__ import annotations

import random

from core.ids import request_workflow_id
from core.plan import ForcedTargetUnfit, UnknownRoute
from core.request import RequestInput
from worker.gateway.state import Gateway
from workflows.chain import plan_input


async def plan_ahead(gw: Gateway, inp: RequestInput) -> tuple[RequestInput, str | None]:
    """``inp`` with its plan and the workflow id to start it under, or ``inp`` unchanged and
    ``None`` (no planner, a keyed request, or planning refused it).

    Keyed requests (``Idempotency-Key``) are planned by their workflow: a retry may attach to an
    execution that exists already and must not get a second plan or cache-hit row. A cache hit's
    outcome row is written under the new workflow id (run id empty, as the shedding hook's)."""
    if gw.planner is None or inp.plan is not None or inp.idempotency_key:
        return inp, None
    wf_id = request_workflow_id(inp.tenant)
    try:
        plan = await gw.planner.make(plan_input(inp, cache=True), random.random(), record_as=wf_id)
    except (UnknownRoute, ForcedTargetUnfit):
        return inp, None
    return inp.model_copy(update={"plan": plan}), wf_id
