"""Degradation-aware routing end to end: real dev server, real database, the simulator replaying
two public scenarios over loopback at compressed time, open-loop load at 8 requests/s.

Health timers run on real seconds while the scenarios are compressed, so the test config shortens
the failback dwell times through the ``health:`` block (per-config overrides at work). Waits are
bounded ("until X, at most N s"); speed figures live in ``bench/chaos.py``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import sqlalchemy as sa

from activities.storage.tables import outcomes
from bench.load import Load, Reply, run_load
from core.chat import ChatMessage, ChatRequest
from core.request import RequestInput
from simulator.server import run_simulator
from tests.configs import sim_config
from worker.config_loader import ConfigHolder
from worker.runtime import Services, build_worker
from worker.submit import SwitchyardClient

PRIMARY = "openai/gpt-4o@us-east"
FAST_FAILBACK = {"probe_dwell_s": 1.0, "ramp_dwell_s": 1.0, "state_dwell_s": 1.0, "probe_min_interval_s": 0.5,
                 "baseline_warmup": 30}


@asynccontextmanager
async def stack(client, db_url: str, base_url: str) -> AsyncIterator[tuple[SwitchyardClient, Services]]:
    services = Services.open(db_url, ConfigHolder.fixed(sim_config(base_url, health=FAST_FAILBACK)))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    try:
        async with build_worker(client, services, queue):
            yield SwitchyardClient(client, queue, services.payloads), services
    finally:
        await services.aclose()


def sender(sy: SwitchyardClient) -> Callable[[int], object]:
    async def send(i: int) -> Reply:
        res = await sy.submit(RequestInput(task_type="support_reply", request=ChatRequest(
            max_tokens=300, messages=[ChatMessage(role="user", content=f"Where is my refill order NW-{i}?")])))
        return Reply(target=res.trace.target_used or "", first=res.trace.attempts[0].target,
                     failovers=res.trace.failovers)
    return send


async def until(check: Callable[[], bool], limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.2)
    return check()


async def jump(sim, at: str) -> None:
    """Move the incident clock (``POST /_sim/reset``): ``at`` in scenario time."""
    async with httpx.AsyncClient() as c:
        (await c.post(f"{sim.base_url}/_sim/reset", json={"at": at})).raise_for_status()


def answered_by_primary(load: Load, start: float, end: float) -> float:
    window = [s for s in load.samples if start <= s.at < end and s.reply]
    return sum(1 for s in window if s.reply.first == PRIMARY) / max(len(window), 1)


@pytest.mark.timeout(120)
async def test_primary_down_fails_over_without_user_errors_and_fails_back(temporal_env, db_url, engine) -> None:
    async with run_simulator("basic-primary-down", port=0, time_scale=5) as sim, \
            stack(temporal_env.client, db_url, sim.base_url) as (sy, services):
        view = lambda: services.health.monitor.views()[PRIMARY]  # noqa: E731
        stop, load = asyncio.Event(), Load()
        runner = asyncio.create_task(run_load(sender(sy), 8.0, stop, load))
        assert await until(lambda: view().breaker == "open", 20.0)  # fault at 30 s / 5 = 6 s
        opened = load.elapsed()
        await asyncio.sleep(4.0)
        assert view().share == 0.0 and view().state == "down"
        await jump(sim, "150s")  # recovery
        recovered = load.elapsed()
        assert await until(lambda: view().share == 1.0 and view().breaker == "closed", 40.0)
        back = load.elapsed()
        await asyncio.sleep(2.0)
        stop.set()
        await runner
    errors = [s.error for s in load.samples if s.error]
    assert errors == []  # 0 user-visible failures: a healthy backup existed the whole time
    assert answered_by_primary(load, opened + 1.0, recovered) < 0.1  # only last-resort/half-open traffic
    assert answered_by_primary(load, back + 0.5, load.elapsed()) > 0.8  # failed back
    async with engine.connect() as conn:
        states = {r[0] for r in await conn.execute(sa.select(outcomes.c.health_state).where(
            outcomes.c.target == PRIMARY, outcomes.c.created_at > time.time() - 120))}
    assert {"healthy", "down"} <= states  # each call records the target's state when it was made


@pytest.mark.timeout(120)
async def test_silent_5x_slowdown_shifts_traffic_and_plans_say_why(temporal_env, db_url, engine) -> None:
    async with run_simulator("basic-primary-slow", port=0, time_scale=4) as sim, \
            stack(temporal_env.client, db_url, sim.base_url) as (sy, services):
        view = lambda: services.health.monitor.views()[PRIMARY]  # noqa: E731
        stop, load = asyncio.Event(), Load()
        runner = asyncio.create_task(run_load(sender(sy), 8.0, stop, load))
        assert await until(lambda: view().share < 1.0, 25.0)  # fault at 30 s / 4 = 7.5 s, no error codes
        shifted = load.elapsed()
        reasons = view().reasons
        assert any("latency" in r for r in reasons) and view().breaker == "closed"
        res = await sy.submit(RequestInput(task_type="support_reply", request=ChatRequest(
            messages=[ChatMessage(role="user", content="Where is my refill?")])))
        assert any("latency" in r for r in res.trace.plan_reasons[PRIMARY])  # the reason is in the history
        await asyncio.sleep(4.0)
        slow_end = load.elapsed()
        await jump(sim, "150s")
        assert await until(lambda: view().share == 1.0, 45.0)
        stop.set()
        await runner
    assert [s.error for s in load.samples if s.error] == []
    assert answered_by_primary(load, 0.0, 6.0) > 0.95  # before the fault
    assert answered_by_primary(load, shifted + 0.5, slow_end) < 0.8  # moved away while slow (75 % .. 5 % share)
