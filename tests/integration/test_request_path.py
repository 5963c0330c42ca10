"""The durable request path end to end: real dev server, real database, simulator over loopback.

Each test gets a fresh simulator (fast baseline latencies) and a worker on its own task queue;
faults are injected through the simulator's control API, so every failure is a real HTTP
exchange in the provider's own wire format.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
import yaml

from activities.storage.cooldowns import CooldownStore
from activities.storage.outcomes import OutcomeStore
from activities.storage.tables import outcomes
from core.chat import ChatMessage, ChatRequest
from core.request import RequestInput
from simulator.server import run_simulator
from tests.configs import sim_config, sim_config_dict
from tests.harness import request_worker
from worker.config_loader import parse_config
from worker.submit import RequestFailed

PRIMARY = "openai/gpt-4o@us-east"
SECOND = "openai/gpt-4o@eu-west"

FAST_SCENARIO = {
    "name": "test-fast", "source": "synthetic", "summary": "fast targets for tests", "time_scale": 1, "seed": 1,
    "baseline": {"latency_ms": {"median": 15, "p99": 40}, "ttft_ms": {"median": 5, "p99": 15},
                 "output_tokens": {"median": 40, "p99": 80}, "error_rate": 0.0},
    "targets": {t: {} for t in [PRIMARY, SECOND, "anthropic/claude-3-5-sonnet@us-east",
                                "gemini/gemini-2.0-flash@us-central", "openai/local-llama-3.1-8b@local"]},
    "timeline": [],
}


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator:
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST_SCENARIO))
    async with run_simulator(str(path), port=0) as s:
        yield s


async def apply(sim, target: str, **settings) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(f"{sim.base_url}/_sim/apply", json={"target": target, "set": settings})
        r.raise_for_status()


async def reset(sim, target: str) -> None:
    async with httpx.AsyncClient() as c:
        (await c.post(f"{sim.base_url}/_sim/apply", json={"target": target, "reset": True})).raise_for_status()


def ask(text: str = "Where is my refill order NW-48213?", task_type: str = "support_reply", **kw) -> RequestInput:
    return RequestInput(request=ChatRequest(messages=[ChatMessage(role="system", content="You are a support agent."),
                                                      ChatMessage(role="user", content=text)], max_tokens=200),
                        task_type=task_type, **kw)


async def rows(engine, workflow_id: str) -> list:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(outcomes).where(outcomes.c.workflow_id == workflow_id)
                                   .order_by(outcomes.c.seq, outcomes.c.try_no))).all()


async def test_healthy_primary_answers_with_trace_cost_and_one_outcome(temporal_env, db_url, engine, sim) -> None:
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        res = await sy.submit(ask())
    assert res.trace.target_used == PRIMARY and res.trace.failovers == 0
    assert res.response.text() and res.response.model == "gpt-4o"
    assert res.response.usage.prompt_tokens > 0 and res.response.usage.completion_tokens > 0
    assert res.trace.cost_usd > 0
    assert res.workflow_id.startswith("req-")
    got = await rows(engine, res.workflow_id)
    assert [(r.target, r.status_class) for r in got] == [(PRIMARY, "ok")]


async def test_primary_down_every_request_answered_by_backup(temporal_env, db_url, engine, sim) -> None:
    await apply(sim, PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        results = await asyncio.gather(*(sy.submit(ask(f"Order NW-{i} status?")) for i in range(8)))
    for res in results:
        assert res.trace.target_used == SECOND
        if res.trace.plan[0] != PRIMARY:  # planned after the breaker opened: health moved the primary back
            assert res.trace.failovers == 0 and "moved behind" in res.trace.plan_reasons[PRIMARY][-1]
            continue
        assert res.trace.failover_reasons == {"Overloaded": 1}
        first = [a for a in res.trace.attempts if a.target == PRIMARY]
        assert [a.try_no for a in first] == [1, 2]  # route retries=1: two calls, then fail over
        assert all(a.status == 503 for a in first)
        assert len(await rows(engine, res.workflow_id)) == len(res.trace.attempts) == 3
    assert any(r.trace.plan[0] == PRIMARY for r in results)  # the first requests found it down themselves


async def test_caller_error_is_returned_unchanged_without_failover(temporal_env, db_url, engine, sim) -> None:
    body = {"error": {"message": "Invalid value for 'temperature': must be <= 2.", "type": "invalid_request_error",
                      "param": "temperature", "code": "invalid_value"}}
    await apply(sim, PRIMARY, error_rate=1.0, errors=[{"status": 400, "share": 1.0, "body": body}])
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask())
    f = e.value.failure
    assert f.error_class == "InvalidRequest" and f.status == 400
    assert "Invalid value for 'temperature'" in f.message
    assert f.trace.failovers == 0 and [a.target for a in f.trace.attempts] == [PRIMARY]
    assert len(await rows(engine, e.value.workflow_id)) == 1


async def test_short_retry_after_is_waited_on_the_same_target(temporal_env, db_url, engine, sim) -> None:
    await apply(sim, PRIMARY, error_rate=1.0,
                errors=[{"status": 429, "share": 1.0, "headers": {"retry-after": "1"}}])
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        started = time.monotonic()
        task = asyncio.create_task(sy.submit(ask()))
        await asyncio.sleep(0.4)
        await reset(sim, PRIMARY)
        res = await task
    assert res.trace.target_used == PRIMARY and res.trace.failovers == 0
    assert [(a.try_no, a.error_class) for a in res.trace.attempts] == [(1, "RateLimited"), (2, None)]
    assert res.trace.attempts[0].retry_after_s == 1
    assert time.monotonic() - started >= 1.0
    assert len(await rows(engine, res.workflow_id)) == 2


async def test_long_retry_after_fails_over_at_once_and_cools_the_target(temporal_env, db_url, engine, sim) -> None:
    await apply(sim, PRIMARY, error_rate=1.0,
                errors=[{"status": 429, "share": 1.0, "headers": {"retry-after": "120"}}])
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        started = time.time()
        res = await sy.submit(ask())
        assert res.trace.target_used == SECOND
        assert [(a.target, a.try_no, a.error_class) for a in res.trace.attempts] == [
            (PRIMARY, 1, "RateLimited"), (SECOND, 1, None)]
        cooldowns = await CooldownStore(engine).active()
        assert cooldowns[PRIMARY].until == pytest.approx(started + 120, abs=5)
        nxt = await sy.submit(ask("And my other order?"))
    assert nxt.trace.plan[0] == SECOND and "cooling down" in nxt.trace.skipped[PRIMARY]


async def test_hanging_target_times_out_then_fails_over(temporal_env, db_url, engine, sim) -> None:
    data = sim_config_dict(sim.base_url)
    data["targets"][0]["timeout_s"] = 1.0
    await apply(sim, PRIMARY, hang_share=1.0)
    async with request_worker(temporal_env.client, parse_config(yaml.safe_dump(data)), db_url) as sy:
        res = await sy.submit(ask())
    assert res.trace.target_used == SECOND
    assert [(a.target, a.error_class) for a in res.trace.attempts][:1] == [(PRIMARY, "Timeout")]
    assert 900 <= res.trace.attempts[0].latency_ms < 2500


async def test_every_target_down_gives_a_clear_error_naming_each_attempt(temporal_env, db_url, engine, sim) -> None:
    await apply(sim, "*", error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask(task_type="contract_clause_summary"))
    f = e.value.failure
    assert f.error_class == "AllTargetsFailed" and f.status == 503 and f.retry_after_s
    for t in f.trace.plan:
        assert t in f.message
    assert len(await rows(engine, e.value.workflow_id)) == len(f.trace.attempts) == 2 * len(f.trace.plan)
    assert f.trace.failovers == len(f.trace.plan) - 1  # moves between targets, not failures


async def test_idempotency_key_attaches_to_the_same_execution(temporal_env, db_url, engine, sim) -> None:
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        a, b = await asyncio.gather(sy.submit(ask(idempotency_key="order-77")),
                                    sy.submit(ask(idempotency_key="order-77")))
        c = await sy.submit(ask(idempotency_key="order-77"))
    assert a.workflow_id == b.workflow_id == c.workflow_id == "req-default-order-77"
    assert a.response.id == b.response.id == c.response.id
    assert len(await rows(engine, a.workflow_id)) == 1


async def test_large_answer_is_stored_and_passed_by_reference(temporal_env, db_url, engine, sim) -> None:
    await apply(sim, PRIMARY, output_tokens={"median": 3000, "p99": 3100})
    inp = ask()
    inp.request.max_tokens = None
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url, inline_limit_bytes=4096) as sy:
        handle = await sy.start(inp)
        raw = await handle.result()
        res = await sy.result(handle)
    assert raw.response is None and raw.response_ref.startswith("pl-")
    assert len(res.response.text()) > 4096


async def test_outcome_writes_are_idempotent_per_attempt(engine) -> None:
    from activities.storage.outcomes import OutcomeRow
    store = OutcomeStore(engine)
    row = OutcomeRow(workflow_id="req-idem", seq=1, try_no=1, target=PRIMARY, provider="openai", model="gpt-4o",
                     region="us-east", task_type="t", tenant="default", status_class="ServerError",
                     latency_ms=10, created_at=time.time())
    await store.record(row)
    await store.record(row.model_copy(update={"status_class": "ok", "latency_ms": 12}))
    got = await store.for_workflow("req-idem")
    assert [(r.status_class, r.latency_ms) for r in got] == [("ok", 12)]


async def test_failed_over_requests_are_listable_by_search_attribute(temporal_env, db_url, sim) -> None:
    await apply(sim, PRIMARY, error_rate=1.0, errors=[{"status": 502, "share": 1.0}])
    async with request_worker(temporal_env.client, sim_config(sim.base_url), db_url) as sy:
        res = await sy.submit(ask(tenant="acme-sa"))
    query = ("Tenant = 'acme-sa' AND FailoverCount > 0 AND Outcome = 'ok' AND FinalModel = 'gpt-4o' "
             "AND FinalTarget = 'openai/gpt-4o@eu-west'")
    for _ in range(50):
        found = [w.id async for w in temporal_env.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.2)
    assert found == [res.workflow_id]
