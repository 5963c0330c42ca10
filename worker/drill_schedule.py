"""Drill schedules: one Temporal Schedule per route, created idempotently by ``switchyard up``
and ``switchyard schedule``.

Id ``switchyard-drill-<route>``; it starts ``DrillWorkflow`` (a drill of every backup with the
route's ``drill:`` settings, ``core/drill_config.py``) every ``drill.every_days``, by default 30
days, 7 for a route marked ``critical: true``, on the request task queue. The same policies as
the learning schedule (``worker/schedule.py``): overlap SKIP, catchup window 1 h, jitter 10% of
the period (at most 1 h), first run one period after creation. An existing schedule whose period
or input differ is updated in place (its paused state kept); a route with ``drill.scheduled:
false`` has its schedule deleted; routes without a chat backup (e.g. embeddings) get none. Schedules of routes removed
from the config are left alone (delete them with ``temporal schedule delete``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
)
from temporalio.service import RPCError, RPCStatusCode

from core.chains import expand_chain
from core.config import SwitchyardConfig
from core.drill import TrialInput
from core.names import DRILL_SCHEDULE_PREFIX, DRILL_WORKFLOW
from worker.schedule import ensure_schedule, interval_schedule

MAX_JITTER = timedelta(hours=1)


def drill_schedule_id(route: str, prefix: str = DRILL_SCHEDULE_PREFIX) -> str:
    """``switchyard-drill-<route>``."""
    return f"{prefix}-{route}"


def _wanted(route: str, period: timedelta, task_queue: str, now: datetime, prefix: str) -> Schedule:
    action = ScheduleActionStartWorkflow(DRILL_WORKFLOW, TrialInput(route=route, kind="drill"),
                                         id=f"{drill_schedule_id(route, prefix)}-run", task_queue=task_queue,
                                         static_summary=f"Scheduled failover drill of route {route}")
    return interval_schedule(action, period, MAX_JITTER, now)


async def _ensure_one(client: Client, sid: str, wanted: Schedule) -> str:
    async def differs(current: Schedule) -> bool:
        act = current.action
        same_spec = [i.every for i in current.spec.intervals] == [i.every for i in wanted.spec.intervals]
        same_action = isinstance(act, ScheduleActionStartWorkflow) and act.task_queue == wanted.action.task_queue \
            and (await client.data_converter.decode(act.args, [TrialInput]) if act.args else []) == list(
                wanted.action.args)  # type: ignore[attr-defined]
        return not (same_spec and same_action)
    return await ensure_schedule(client, sid, wanted, differs)


async def _delete(client: Client, sid: str) -> str | None:
    try:
        await client.get_schedule_handle(sid).delete()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return "deleted"


async def ensure_drill_schedules(client: Client, task_queue: str, cfg: SwitchyardConfig, *,
                                 prefix: str = DRILL_SCHEDULE_PREFIX, now: datetime | None = None) -> dict[str, str]:
    """Bring every route's drill schedule in line with ``cfg`` (see module docstring).

    Returns route -> ``created`` | ``updated`` | ``unchanged`` | ``deleted`` (routes without a
    schedule and nothing to delete are absent). Raises ``temporalio.service.RPCError`` when the
    cluster refuses."""
    at = now or datetime.now(UTC)
    out: dict[str, str] = {}
    for name, route in cfg.routes.items():
        sid = drill_schedule_id(name, prefix)
        has_backup = sum("chat" in t.capabilities for g in expand_chain(cfg, name) for t in g) > 1
        if not route.drill.scheduled or not has_backup:
            if (gone := await _delete(client, sid)) is not None:
                out[name] = gone
            continue
        period = timedelta(days=route.drill.cadence_days(route.critical))
        out[name] = await _ensure_one(client, sid, _wanted(name, period, task_queue, at, prefix))
    return out
