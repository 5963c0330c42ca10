"""``switchyard up`` run twice creates the learning schedule and each route's drill schedule once
(real launcher, temporary home)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.names import LEARNING_SCHEDULE_ID
from tests.integration.test_stack import free_port_pair
from worker import stack
from worker.client import connect
from worker.drill_schedule import drill_schedule_id
from worker.settings import BUNDLED_SIMULATED_CONFIG, Settings


async def test_up_twice_leaves_one_learning_schedule(tmp_path, db_url, engine) -> None:
    settings = Settings(home=tmp_path / "home", dev_port=free_port_pair(), database_url=db_url,
                        task_queue="learning-up-test")
    try:
        first = await stack.up(settings, BUNDLED_SIMULATED_CONFIG)
        second = await stack.up(settings, BUNDLED_SIMULATED_CONFIG)
        assert (first.learning_schedule, second.learning_schedule) == ("created", "unchanged")
        routes = ["support_reply", "contract_clause_summary", "json_extraction"]
        assert first.drill_schedules == dict.fromkeys(routes, "created")
        assert second.drill_schedules == dict.fromkeys(routes, "unchanged")
        client = await connect(settings)
        for _ in range(50):  # visibility is eventually consistent
            ids = [s.id async for s in await client.list_schedules()]
            if len(ids) >= 1 + len(routes):
                break
            await asyncio.sleep(0.1)
        assert sorted(ids) == sorted([LEARNING_SCHEDULE_ID, *(drill_schedule_id(r) for r in routes)])
        desc = await client.get_schedule_handle(LEARNING_SCHEDULE_ID).describe()
        assert [i.every for i in desc.schedule.spec.intervals] == [timedelta(minutes=10)]
        assert desc.schedule.action.task_queue == "learning-up-test"
        assert not desc.info.recent_actions  # the first run comes one period after creation
    finally:
        stack.down(settings)
