"""Drill schedules: monthly by default, weekly for critical routes, idempotent, and a triggered
run is a real drill whose results are stored."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import yaml

from activities.storage.drill_store import DrillStore
from tests.configs import sim_config_dict
from tests.drills.conftest import CLAUDE, EU, GEMINI, LOCAL
from tests.harness import request_worker
from worker.config_loader import parse_config
from worker.drill_schedule import drill_schedule_id, ensure_drill_schedules


def _cfg(base_url: str, **routes_extra):
    data = sim_config_dict(base_url)
    # the latency verdict is tested in tests/unit/test_eval_checks.py; here a loaded CI box must not fail a
    # 2-sample drill on one slow answer (what this test checks is the schedule and the stored run)
    data["routes"]["support_reply"].update(critical=True, drill={"count": 2, "max_latency_ratio": 1000,
                                                                 "latency_slack_ms": 60_000})
    data["routes"]["json_extraction"]["drill"] = {"scheduled": False}
    for name, extra in routes_extra.items():
        data["routes"][name].update(extra)
    return parse_config(yaml.safe_dump(data), "drill-schedule")


async def test_cadence_idempotence_update_delete_and_a_triggered_drill(temporal_env, db_url, engine, sim) -> None:
    client = temporal_env.client
    prefix = f"drill-test-{uuid.uuid4().hex[:6]}"
    cfg = _cfg(sim.base_url)
    async with request_worker(client, cfg, db_url) as sy:
        try:
            made = await ensure_drill_schedules(client, sy.task_queue, cfg, prefix=prefix)
            assert made == {"support_reply": "created", "contract_clause_summary": "created"}
            assert await ensure_drill_schedules(client, sy.task_queue, cfg, prefix=prefix) == {
                "support_reply": "unchanged", "contract_clause_summary": "unchanged"}
            weekly = await client.get_schedule_handle(drill_schedule_id("support_reply", prefix)).describe()
            monthly = await client.get_schedule_handle(drill_schedule_id("contract_clause_summary", prefix)).describe()
            assert [i.every for i in weekly.schedule.spec.intervals] == [timedelta(days=7)]
            assert [i.every for i in monthly.schedule.spec.intervals] == [timedelta(days=30)]
            changed = _cfg(sim.base_url, contract_clause_summary={"drill": {"every_days": 14}})
            assert (await ensure_drill_schedules(client, sy.task_queue, changed, prefix=prefix))[
                "contract_clause_summary"] == "updated"
            off = _cfg(sim.base_url, contract_clause_summary={"drill": {"scheduled": False}})
            assert (await ensure_drill_schedules(client, sy.task_queue, off, prefix=prefix))[
                "contract_clause_summary"] == "deleted"
            handle = client.get_schedule_handle(drill_schedule_id("support_reply", prefix))
            await handle.trigger()
            latest = {}
            for _ in range(600):
                latest = await DrillStore(engine).latest_by_target()
                if {EU, CLAUDE, GEMINI, LOCAL} <= set(latest) and \
                        all(latest[t].run_id.startswith(drill_schedule_id("support_reply", prefix))
                            for t in (EU, CLAUDE, GEMINI, LOCAL)):
                    break
                await asyncio.sleep(0.1)
            assert all(latest[t].passed and latest[t].samples == 2 for t in (EU, CLAUDE, GEMINI, LOCAL)), latest
        finally:
            for route in ("support_reply", "contract_clause_summary"):
                try:
                    await client.get_schedule_handle(drill_schedule_id(route, prefix)).delete()
                except Exception:  # noqa: BLE001 - already deleted by the test
                    pass
