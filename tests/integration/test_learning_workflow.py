"""The learning workflow on the real dev server: the schedule is created once however often it is
ensured, and a run (direct, or triggered through the schedule) turns recorded outcomes and user
feedback into a ranking that the next request's plan uses.

Every test uses its own task type and schedule id, and configs with only that route, so no ranking
written here reorders another test's routes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import yaml
from temporalio.client import Client, ScheduleOverlapPolicy

from activities.storage.health import HealthStore
from core.chat import ChatMessage, ChatRequest
from core.config import LearningSettings
from core.learning.model import LearningInput, LearningResult, Ranking
from core.names import LEARNING_RANKINGS_QUERY
from core.request import RequestInput
from simulator.server import run_simulator
from tests.configs import sim_config
from tests.harness import request_worker
from tests.integration.test_request_path import FAST_SCENARIO
from worker.schedule import ensure_learning_schedule, trigger_learning
from workflows.learning import LearningWorkflow

GPT, GEMINI = "openai/gpt-4o@us-east", "gemini/gemini-2.0-flash@us-central"


async def schedules_named(client: Client, schedule_id: str) -> list[str]:
    return [s.id async for s in await client.list_schedules() if s.id == schedule_id]


async def test_schedule_is_created_once_and_updated_only_when_it_differs(temporal_env) -> None:
    client = temporal_env.client
    sid, queue = f"learning-test-{uuid.uuid4().hex[:8]}", f"q-{uuid.uuid4().hex[:8]}"
    try:
        assert await ensure_learning_schedule(client, queue, LearningSettings(), schedule_id=sid) == "created"
        assert await ensure_learning_schedule(client, queue, LearningSettings(), schedule_id=sid) == "unchanged"
        for _ in range(50):  # list_schedules reads visibility, which is eventually consistent
            if await schedules_named(client, sid):
                break
            await asyncio.sleep(0.1)
        assert await schedules_named(client, sid) == [sid]
        handle = client.get_schedule_handle(sid)
        desc = await handle.describe()
        assert [i.every for i in desc.schedule.spec.intervals] == [timedelta(minutes=10)]
        assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        assert desc.schedule.policy.catchup_window == timedelta(hours=1)
        assert desc.schedule.spec.jitter == timedelta(seconds=60)
        start_at = desc.schedule.spec.start_at
        await handle.pause(note="operator pause")
        assert await ensure_learning_schedule(client, queue, LearningSettings(period_s=300), schedule_id=sid) \
            == "updated"
        after = await handle.describe()
        assert [i.every for i in after.schedule.spec.intervals] == [timedelta(minutes=5)]
        assert after.schedule.state.paused and after.schedule.spec.start_at == start_at
        assert await ensure_learning_schedule(client, queue, LearningSettings(period_s=300), schedule_id=sid) \
            == "unchanged"
    finally:
        await client.get_schedule_handle(sid).delete()


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator:
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST_SCENARIO))
    async with run_simulator(str(path), port=0) as s:
        yield s


def ask(task_type: str, n: int, pinned: str | None = None) -> RequestInput:
    return RequestInput(request=ChatRequest(messages=[ChatMessage(role="user", content=f"Summarise clause {n}.")],
                                            max_tokens=100), task_type=task_type, pinned_target=pinned)


async def wait_for_run(client: Client, sid: str) -> str:
    for _ in range(200):
        desc = await client.get_schedule_handle(sid).describe()
        if desc.info.recent_actions:
            return desc.info.recent_actions[-1].action.workflow_id
        await asyncio.sleep(0.1)
    raise AssertionError("the schedule never started a run")


async def test_learning_run_ranks_from_outcomes_and_feedback_and_planning_follows(
        temporal_env, db_url, engine, sim) -> None:
    tt = f"lw_{uuid.uuid4().hex[:8]}"
    cfg = sim_config(sim.base_url, default_route=tt, routes={tt: {
        "chain": [GPT, GEMINI], "objective": {"exploration_floor": 0.0}}})
    votes = HealthStore(engine)
    client = temporal_env.client
    async with request_worker(client, cfg, db_url) as sy:
        for n in range(12):   # the configured primary answers, and users dislike its answers
            res = await sy.submit(ask(tt, n))
            assert res.trace.target_used == GPT
            await votes.record_feedback(res.workflow_id, False, "", 0.0)
        for n in range(12):   # the second target, tried by hand, pleases them
            res = await sy.submit(ask(tt, n, pinned=GEMINI))
            assert res.trace.target_used == GEMINI
            await votes.record_feedback(res.workflow_id, True, "", 0.0)

        handle = await client.start_workflow(LearningWorkflow.run, LearningInput(task_types=[tt]),
                                             id=f"learning-{tt}", task_queue=sy.task_queue)
        result = await handle.result()
        [ranking] = result.rankings
        assert ranking.version == 1 and ranking.leader() == GEMINI and ranking.mode == "on"
        gem = next(t for t in ranking.targets if t.target == GEMINI)
        assert gem.figures.samples == 12 and gem.figures.feedback_score == 1.0 and gem.figures.votes == 12
        queried = await handle.query(LEARNING_RANKINGS_QUERY, tt, result_type=list[Ranking])
        assert queried == result.rankings

        await asyncio.sleep(2.1)  # the planning cache checks for a new version every 2 s
        after = await sy.submit(ask(tt, 99))
        assert after.trace.plan[0] == GEMINI and after.trace.target_used == GEMINI
        assert any("learned rank 1 of 2 (ranking v1" in r for r in after.trace.plan_reasons[GEMINI])

        sid = f"learning-test-{uuid.uuid4().hex[:8]}"
        try:
            await ensure_learning_schedule(client, sy.task_queue, LearningSettings(), schedule_id=sid)
            await trigger_learning(client, sid)
            run_id = await wait_for_run(client, sid)
            scheduled = await client.get_workflow_handle(run_id, result_type=LearningResult).result()
            assert [r.version for r in scheduled.rankings] == [2]
        finally:
            await client.get_schedule_handle(sid).delete()
