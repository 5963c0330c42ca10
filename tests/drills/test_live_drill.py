"""A drill on live traffic: while real requests flow, a share of them tries each backup first
for a window; the broken backup fails on its live outcomes, the healthy one passes, and no
caller sees an error (the primary answers what the broken backup does not)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from activities.storage.drill_store import DrillStore
from activities.storage.drill_tables import eval_scores
from activities.storage.drill_windows import DrillWindows
from activities.storage.engine import make_engine
from core.chat import ChatMessage, ChatRequest
from core.drill import TrialInput
from core.request import RequestInput
from tests.configs import sim_config
from tests.drills.conftest import CLAUDE, GEMINI, PRIMARY, apply
from tests.harness import request_worker
from worker.trial_runner import run_trial


async def test_live_drill_fails_the_broken_backup_on_live_outcomes(temporal_env, db_url, engine, sim) -> None:
    await apply(sim, CLAUDE, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    cfg = sim_config(sim.base_url)
    async with request_worker(temporal_env.client, cfg, db_url) as sy:
        done = asyncio.Event()
        traces = []

        async def traffic(n: int) -> None:
            i = 0
            while not done.is_set():
                i += 1
                res = await sy.submit(RequestInput(request=ChatRequest(messages=[ChatMessage(
                    role="user", content=f"Where is my parcel {n}-{i}?")], max_tokens=40), task_type="support_reply"))
                traces.append(res.trace)

        live = [asyncio.create_task(traffic(n)) for n in range(4)]
        try:
            report = await run_trial(sy.client, sy.task_queue, TrialInput(
                route="support_reply", targets=[CLAUDE, GEMINI], live_share=0.5, live_s=3.0))
        finally:
            done.set()
            await asyncio.gather(*live)
    assert report.live and report.failed_targets() == [CLAUDE], report.verdicts
    by = {s.target: s for s in report.summaries}
    assert by[CLAUDE].samples > 0 and by[CLAUDE].success_rate == 0.0
    assert by[GEMINI].answered > 0 and by[PRIMARY].answered > 0
    async with engine.connect() as conn:  # live outcomes already reach learning: no eval scores twice
        assert not (await conn.execute(sa.select(eval_scores).where(eval_scores.c.run_id == report.run_id))).all()
    assert (await DrillStore(engine).latest_by_target())[CLAUDE].passed is False
    drilled = [t for t in traces if any(r.startswith("drill ") for r in t.plan_reasons.get(t.plan[0], []))]
    assert {t.plan[0] for t in drilled} == {CLAUDE, GEMINI}
    assert all(t.target_used in (PRIMARY, GEMINI) for t in traces)  # every live request was answered
    assert any(t.plan[0] == CLAUDE and t.target_used == PRIMARY for t in drilled)


async def test_unreadable_drill_windows_never_fail_planning(tmp_path) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: every read fails
    try:
        windows = DrillWindows(broken)
        assert await windows.active() == {}
    finally:
        await broken.dispose()
