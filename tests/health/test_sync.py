"""Health shared through the database: a second worker learns of a dead target from the first
one's outcome rows, a restarted worker resumes the published view, feedback reaches health, and
the prober calls a real target through its adapter (simulator over loopback)."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
from rich.console import Console

from activities.health.service import HealthService
from activities.providers.http import make_http_client
from activities.storage.health import HealthStore, UnknownRequest, learnable
from activities.storage.health_tables import health_probes
from activities.storage.outcomes import OutcomeRow, OutcomeStore
from core.health.view import TargetView
from simulator.server import run_simulator
from tests.configs import sim_config
from worker.config_loader import ConfigHolder
from worker.health_cli import health_table

PRIMARY = "openai/gpt-4o@us-east"


def row(wf: str, status: str = "ServerError", seq: int = 1) -> OutcomeRow:
    return OutcomeRow(workflow_id=wf, seq=seq, try_no=1, target=PRIMARY, provider="openai", model="gpt-4o",
                      region="us-east", task_type="support_reply", tenant="default", status_class=status,
                      latency_ms=120.0, counts_against_health=status != "ok", created_at=time.time())


@pytest.fixture
async def services(engine):
    cfg = ConfigHolder.fixed(sim_config("http://127.0.0.1:9"))
    http = make_http_client()
    made: list[HealthService] = []

    def make() -> HealthService:
        made.append(HealthService(engine, cfg, http, probes=False))
        return made[-1]
    yield make
    for s in made:
        await s.aclose()
    await http.aclose()


async def test_second_worker_sees_a_dead_target_and_a_restarted_worker_resumes(engine, services) -> None:
    a, b = services(), services()
    await a.start()
    await b.start()
    store = OutcomeStore(engine)
    for i in range(5):  # what the attempt activity does: write the row, then feed this worker's monitor
        r = row(f"wf-{uuid.uuid4().hex[:6]}-{i}")
        await store.record(r)
        a.monitor.observe_outcome(r)
    assert a.monitor.views()[PRIMARY].breaker == "open"
    assert b.monitor.views()[PRIMARY].breaker == "closed"
    await b.sync.pull()  # one sync pass (the background loop also runs one per second)
    assert b.monitor.views()[PRIMARY].breaker == "open"
    assert await a.sync.pull() == 0  # a worker never feeds its own rows twice
    await a.sync.publish()
    c = services()
    await c.start()  # a restarted worker: resumes the published tracker before its first plan
    v = c.monitor.views()[PRIMARY]
    assert (v.breaker, v.state, v.share) == ("open", "down", 0.0)
    current = await HealthStore(engine).current()
    assert current[PRIMARY].breaker == "open" and current[PRIMARY].reasons


async def test_feedback_is_stored_with_the_outcome_and_counted_in_health(engine, services) -> None:
    w = services()
    await w.start()
    wf = f"wf-{uuid.uuid4().hex[:8]}"
    await OutcomeStore(engine).record(row(wf, "ServerError", seq=1))
    await OutcomeStore(engine).record(row(wf, "ok", seq=2))
    rec = await w.store.record_feedback(wf, False, "wrong order number", time.time())
    assert (rec.target, rec.seq, rec.positive) == (PRIMARY, 2, False)
    await w.sync.pull()
    assert w.monitor.board.trackers[PRIMARY].votes[-1][1] == 0.0
    with pytest.raises(UnknownRequest):
        await w.store.record_feedback("no-such-workflow", True, "", time.time())
    assert learnable(None) and learnable("healthy") and not learnable("degraded")


async def test_prober_calls_the_target_through_its_adapter(engine) -> None:
    async with run_simulator("basic-no-faults", port=0, time_scale=1) as sim:
        http = make_http_client()
        svc = HealthService(engine, ConfigHolder.fixed(sim_config(sim.base_url)), http)
        try:
            assert await svc.prober.probe("gemini/gemini-2.0-flash@us-central") == "ok"
            svc.prober.tick()  # idle targets are due; the budget lets one through now
            assert svc.prober.sent >= 1 or svc.prober._tasks
        finally:
            await svc.aclose()
            await http.aclose()
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(health_probes.c.target, health_probes.c.status_class))).all()
    assert ("gemini/gemini-2.0-flash@us-central", "ok") in [tuple(r) for r in rows]
    assert svc.monitor.last_probe["gemini/gemini-2.0-flash@us-central"] > 0


def test_health_table_shows_state_breaker_share_and_reasons() -> None:
    now = time.time()
    views = {PRIMARY: TargetView(target=PRIMARY, state="down", score=0.0, breaker="open", share=0.0,
                                 reasons=["breaker open: 5 consecutive failures"], updated_at=now - 1,
                                 open_until=now + 29)}
    console = Console(record=True, width=200)
    console.print(health_table(views, now))
    text = console.export_text()
    assert PRIMARY in text and "down" in text and "open (29 s)" in text and "0%" in text
    assert "5 consecutive failures" in text
    console.print(health_table({}, now))
    assert "no health published yet" in console.export_text()


async def test_an_overloaded_worker_does_not_blame_the_target_for_its_own_lag(services) -> None:
    w = services()
    ok = row("wf-lag", "ok")
    w.monitor.observe_outcome(ok)
    assert len(w.monitor.board.trackers[PRIMARY].recent.items) == 1
    for _ in range(10):
        w.monitor.note_loop_lag(2.0)  # the event loop runs 2 s late: latencies measure our queueing
    w.monitor.observe_outcome(row("wf-lag", "ok", seq=2))
    assert len(w.monitor.board.trackers[PRIMARY].recent.items) == 1 and w.monitor.latency_skipped == 1
