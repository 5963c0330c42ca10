"""The gateway's side of head starts (``activities/head_start.py``): begin the first call of an
early-answerable request while its workflow starts.

Only for a request answered early (``early.py`` :func:`may_answer_early`: planned here, unkeyed,
whole answer, not durable-attempt) in a process whose request worker is bound
(:attr:`HeadStarts.ready`), with ``gateway.head_start`` on (the default).
"""

from __future__ import annotations

from activities.head_start import HeadStart
from core.request import RequestInput
from worker.gateway.state import Gateway
from workflows.request import attempt_input


def head_start(gw: Gateway, inp: RequestInput, workflow_id: str) -> tuple[RequestInput, HeadStart | None]:
    """``inp`` with its plan marked ``head_start`` and the begun try, or ``inp`` unchanged and ``None``.

    The try's input is the workflow's first attempt input (:func:`workflows.request.attempt_input`)
    with the caller's whole deadline left; its run id comes with the start (``HeadStart.started``)."""
    heads, plan = gw.services.heads, inp.plan
    if heads is None or not heads.ready or plan is None or not plan.entries or not gw.config()[0].gateway.head_start:
        return inp, None
    plan = plan.model_copy(update={"head_start": True})
    inp = inp.model_copy(update={"plan": plan})
    first = attempt_input(inp, plan, plan.entries[0], 1, inp.deadline_s or plan.deadline_s, workflow_id=workflow_id)
    return inp, heads.begin(first)
