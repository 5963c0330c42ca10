"""Each alert rule fires once and resolves once on a fault timeline built for it, stays silent on
a timeline without faults, stores its events and reaches a webhook (``activities/alerts/``).

The timelines are outcome rows in the real database, written as the attempt activity writes them,
at a time far from the other tests' rows (t0 = 4e9 s), and the evaluator runs with that clock
every 10 s: 10 minutes normal, 10 minutes of fault, 10 minutes recovered."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from activities.alerts.evaluator import AlertEvaluator
from activities.storage.alert_tables import alert_events, alert_lease, alert_states
from activities.storage.tables import outcomes
from core.alerts import DEFAULT_RULES
from core.config import SwitchyardConfig
from tests.configs import sim_config
from worker.config_loader import ConfigHolder
from worker.gateway.server import serve_app

T0 = 4_000_000_000.0
NORMAL, FAULT, END = T0 + 600, T0 + 1200, T0 + 1800
A, B = "openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet@us-east"


@pytest.fixture(autouse=True)
async def clean(engine) -> AsyncIterator[None]:
    async def wipe() -> None:
        async with engine.begin() as conn:
            for t in (alert_states, alert_events, alert_lease):
                await conn.execute(sa.delete(t))
            await conn.execute(sa.delete(outcomes).where(outcomes.c.created_at >= T0))
    await wipe()
    yield
    await wipe()


def _config(**alerts: Any) -> SwitchyardConfig:
    return sim_config("http://127.0.0.1:9", alerts={"interval_s": 10, **alerts})


def timeline(fault: str | None, seed: int = 1) -> list[dict[str, Any]]:
    """Two requests/s on route ``support_reply`` from T0 to END; ``fault`` applies between NORMAL
    and FAULT. Each request is one call of A, or A failing then B when it fails over."""
    rng, rows = random.Random(seed), []
    for i in range(int((END - T0) * 2)):
        now = T0 + i / 2
        bad = fault is not None and NORMAL <= now < FAULT
        wf = f"alert-{fault}-{i}"
        base = dict(workflow_id=wf, run_id="", try_no=1, provider="openai", model="gpt-4o", region="us-east",
                    task_type="support_reply", tenant="t", created_at=now, prompt_tokens=200, completion_tokens=100,
                    latency_ms=rng.lognormvariate(5.3, 0.25), quality_flags="", counts_against_health=False,
                    status_class="ok", cost_usd=0.0015, http_status=None)
        if bad and fault == "latency_spike":
            base["latency_ms"] *= 6
        if bad and fault == "cost_per_request":
            base["cost_usd"] *= 3
        if bad and fault == "quality" and rng.random() < 0.3:
            base["quality_flags"] = "truncated"
        cache_hit = rng.random() < (0.05 if bad and fault == "cache_hit_drop" else 0.4)
        if cache_hit:
            rows.append({**base, "seq": 1, "target": "cache", "provider": "cache", "model": "cache", "region": "",
                         "cost_usd": 0.0, "latency_ms": 2.0})
            continue
        if bad and fault in ("error_rate", "failover") and rng.random() < 0.3:
            rows.append({**base, "seq": 1, "target": A, "status_class": "ServerError", "http_status": 503,
                         "counts_against_health": True, "cost_usd": 0.0, "prompt_tokens": 0, "completion_tokens": 0})
            rows.append({**base, "seq": 2, "target": B, "provider": "anthropic", "model": "claude-3-5-sonnet",
                         "created_at": now + 0.01})
            continue
        rows.append({**base, "seq": 1, "target": A})
    return rows


async def replay(engine, ev: AlertEvaluator, rows: list[dict[str, Any]], clock: list[float]) -> list:
    """Insert the rows minute by minute and tick the evaluator every 10 s of timeline time."""
    events, rows = [], sorted(rows, key=lambda r: r["created_at"])
    i, t = 0, T0
    while t <= END + 300:
        j = i
        while j < len(rows) and rows[j]["created_at"] < t:
            j += 1
        if j > i:
            async with engine.begin() as conn:
                await conn.execute(sa.insert(outcomes), rows[i:j])
            i = j
        clock[0] = t
        events += await ev.tick()
        t += 10
    return events


@pytest.mark.parametrize("rule", ["error_rate", "latency_spike", "failover", "cache_hit_drop", "cost_per_request",
                                  "quality"])
async def test_each_rule_fires_once_and_resolves_once_on_its_fault(engine, rule) -> None:
    clock = [T0]
    async with httpx.AsyncClient() as http:
        ev = AlertEvaluator(engine, ConfigHolder.fixed(_config()), http, clock=lambda: clock[0])
        events = await replay(engine, ev, timeline(rule), clock)
    mine = [(e.rule, e.status) for e in events if e.rule == rule]
    assert mine == [(rule, "firing"), (rule, "resolved")], events
    firing = next(e for e in events if e.rule == rule)
    spec = DEFAULT_RULES[rule]  # the delay from fault start to alert: at most the long window + for_s
    assert NORMAL < firing.at <= NORMAL + spec.long_window_s + spec.for_s + 20
    resolved = [e for e in events if e.rule == rule][1]
    assert FAULT < resolved.at < FAULT + 600
    # an error-rate fault is also a failover fault (every failed call failed over): allowed together
    others = {e.rule for e in events} - {rule}
    assert others <= ({"failover"} if rule == "error_rate" else {"error_rate"} if rule == "failover" else set())
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(alert_events.c.rule, alert_events.c.status)
                                     .where(alert_events.c.rule == rule).order_by(alert_events.c.id))).all()
    assert [tuple(r) for r in stored] == mine


async def test_no_faults_no_alerts(engine) -> None:
    clock = [T0]
    async with httpx.AsyncClient() as http:
        ev = AlertEvaluator(engine, ConfigHolder.fixed(_config()), http, clock=lambda: clock[0])
        assert await replay(engine, ev, timeline(None, seed=7), clock) == []


async def test_events_reach_the_webhook_and_one_evaluator_holds_the_lease(engine) -> None:
    received: list[dict] = []

    async def hook(request: Request) -> JSONResponse:
        received.append(await request.json())
        return JSONResponse({"ok": True})

    clock = [T0]
    cfg = ConfigHolder.fixed(_config(webhook_url_env="SY_TEST_HOOK"))
    async with serve_app(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url, \
            httpx.AsyncClient() as http:
        ev = AlertEvaluator(engine, cfg, http, clock=lambda: clock[0], env={"SY_TEST_HOOK": f"{url}/hook"})
        other = AlertEvaluator(engine, cfg, http, clock=lambda: clock[0], env={"SY_TEST_HOOK": f"{url}/hook"})
        await ev.tick()
        assert await other.tick() == []  # the lease is held by ``ev``
        await replay(engine, ev, timeline("error_rate"), clock)
    texts = [m["text"] for m in received]
    assert any("[FIRING] error_rate on openai/gpt-4o@us-east" in t for t in texts), texts
    assert any("[RESOLVED] error_rate" in t for t in texts)
    assert all(m["switchyard"]["subject"] for m in received)
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(alert_events)
                                   .where(alert_events.c.notified.is_(False)))).scalar() == 0
