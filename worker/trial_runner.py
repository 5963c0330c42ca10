"""Start a ``DrillWorkflow`` (an eval run or a drill) and wait for its report.

Shared by ``switchyard eval``, ``switchyard drill`` and the tests: the run happens on the running
stack's workers (the task queue of request workflows), so every answer is a real request.
"""

from __future__ import annotations

import time
import uuid

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from core.drill import TrialInput, TrialReport
from core.names import DRILL_WORKFLOW


class TrialFailed(RuntimeError):
    """The run could not be made (unknown route or target, bad prompts file): ``message`` says why."""


def trial_workflow_id(inp: TrialInput, now: float | None = None) -> str:
    """``<kind>-<route>-<UTC yyyymmddThhmmss>-<random 6 hex>``."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{inp.kind}-{inp.route}-{stamp}-{uuid.uuid4().hex[:6]}"


async def run_trial(client: Client, task_queue: str, inp: TrialInput, *,
                    workflow_id: str | None = None) -> TrialReport:
    """Run ``inp`` to completion; raises :class:`TrialFailed` when the workflow refused it."""
    try:
        return await client.execute_workflow(DRILL_WORKFLOW, inp, id=workflow_id or trial_workflow_id(inp),
                                             task_queue=task_queue, result_type=TrialReport,
                                             static_summary=f"{inp.kind} of route {inp.route}")
    except WorkflowFailureError as e:
        cause = e.cause
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.cause
        raise TrialFailed(cause.message if cause is not None else str(e)) from None
