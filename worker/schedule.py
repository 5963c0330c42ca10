"""The learning schedule: created idempotently by ``switchyard up`` and ``switchyard schedule``.

One Temporal Schedule, id ``switchyard-learning``, starts ``LearningWorkflow`` every
``learning.period_s`` (default 10 minutes) on the request task queue, following
``shared/TEMPORAL.md`` section 5 and recommendation 12:

- **idempotent**: create; when it exists (``ScheduleAlreadyRunningError``), compare its interval,
  workflow, task queue and input with the wanted ones and ``update`` only what differs, keeping
  its state (an operator's pause stays paused). Running ``up`` twice leaves exactly one schedule;
- overlap **SKIP** (a slow run is never doubled), **catchup window 1 h** instead of the
  365-day default (a cluster down for a day does not replay a day of runs), **jitter** of 10% of
  the period, at most 60 s (workers of many deployments do not aggregate at the same second);
- the **first run** is one period after creation (``start_at``), when a period of outcomes exists.

The started runs get ids ``switchyard-learning-run-<timestamp>`` (the schedule appends it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.config import LearningSettings
from core.learning.model import LearningInput, LearningResult, Ranking
from core.names import LEARNING_RANKINGS_QUERY, LEARNING_SCHEDULE_ID, LEARNING_WORKFLOW

CATCHUP_WINDOW = timedelta(hours=1)
MAX_JITTER = timedelta(seconds=60)
RUN_ID_PREFIX = "switchyard-learning-run"

Outcome = Literal["created", "updated", "unchanged"]


def interval_schedule(action: ScheduleActionStartWorkflow, period: timedelta, max_jitter: timedelta,
                      now: datetime) -> Schedule:
    """A schedule running ``action`` every ``period`` with the policies of the module docstring:
    jitter 10% of the period (at most ``max_jitter``), first run one period after ``now``, overlap
    SKIP, catchup window 1 h. Shared with the drill schedules (``worker/drill_schedule.py``)."""
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=period)], jitter=min(period / 10, max_jitter),
                        start_at=now + period)
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW)
    return Schedule(action=action, spec=spec, policy=policy)


async def ensure_schedule(client: Client, schedule_id: str, wanted: Schedule,
                          differs: Callable[[Schedule], Awaitable[bool]]) -> Outcome:
    """Create ``wanted`` under ``schedule_id``, or, when it exists and ``differs(current)``, update
    its action, spec and policy in place (its first-run time and paused state kept). Returns
    ``created``, ``updated`` or ``unchanged``; raises ``temporalio.service.RPCError``."""
    try:
        await client.create_schedule(schedule_id, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(schedule_id)
    current = (await handle.describe()).schedule
    if not await differs(current):
        return "unchanged"
    spec = dataclasses.replace(wanted.spec, start_at=current.spec.start_at)

    def _update(inp: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=dataclasses.replace(inp.description.schedule, action=wanted.action,
                                                           spec=spec, policy=wanted.policy))

    await handle.update(_update)
    return "updated"


def _wanted(task_queue: str, settings: LearningSettings, now: datetime) -> Schedule:
    action = ScheduleActionStartWorkflow(LEARNING_WORKFLOW, LearningInput(period_s=settings.period_s),
                                         id=RUN_ID_PREFIX, task_queue=task_queue,
                                         static_summary="Learning run: rank targets per task type")
    return interval_schedule(action, timedelta(seconds=settings.period_s), MAX_JITTER, now)


async def _differences(client: Client, current: Schedule, wanted: Schedule) -> list[str]:
    """What of ``current`` differs from ``wanted`` (``start_at`` and state are not compared)."""
    diffs = []
    cur_spec, want_spec = current.spec, wanted.spec
    if [i.every for i in cur_spec.intervals] != [i.every for i in want_spec.intervals] or \
            cur_spec.jitter != want_spec.jitter or cur_spec.cron_expressions or cur_spec.calendars:
        diffs.append("spec")
    act, want = current.action, wanted.action
    if not isinstance(act, ScheduleActionStartWorkflow) or act.workflow != LEARNING_WORKFLOW \
            or act.task_queue != want.task_queue or act.id != want.id:  # type: ignore[attr-defined]
        diffs.append("action")
    else:
        args = await client.data_converter.decode(act.args, [LearningInput]) if act.args else []
        if args != list(want.args):  # type: ignore[attr-defined]
            diffs.append("input")
    if current.policy.overlap != wanted.policy.overlap or current.policy.catchup_window != CATCHUP_WINDOW:
        diffs.append("policy")
    return diffs


async def ensure_learning_schedule(client: Client, task_queue: str, settings: LearningSettings, *,
                                   schedule_id: str = LEARNING_SCHEDULE_ID, now: datetime | None = None) -> Outcome:
    """Create the learning schedule, or bring an existing one in line (see module docstring).

    Returns ``created``, ``updated`` or ``unchanged``. Raises ``temporalio.service.RPCError`` when
    the cluster refuses (e.g. no permission)."""
    wanted = _wanted(task_queue, settings, now or datetime.now(UTC))

    async def differs(current: Schedule) -> bool:
        return bool(await _differences(client, current, wanted))
    return await ensure_schedule(client, schedule_id, wanted, differs)


async def trigger_learning(client: Client, schedule_id: str = LEARNING_SCHEDULE_ID) -> None:
    """Start one learning run now (the schedule's overlap policy still applies)."""
    await client.get_schedule_handle(schedule_id).trigger()


async def latest_run_rankings(client: Client, schedule_id: str = LEARNING_SCHEDULE_ID,
                              task_type: str | None = None) -> tuple[str, list[Ranking]] | None:
    """``(workflow id, rankings)`` of the schedule's most recent run, through the workflow's
    ``rankings`` query (it answers after the run completed too); ``None`` before the first run."""
    desc = await client.get_schedule_handle(schedule_id).describe()
    if not desc.info.recent_actions:
        return None
    started = desc.info.recent_actions[-1].action
    handle = client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id,
                                        result_type=LearningResult)
    rankings = await handle.query(LEARNING_RANKINGS_QUERY, task_type, result_type=list[Ranking])
    return started.workflow_id, rankings
