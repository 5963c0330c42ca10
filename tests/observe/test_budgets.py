"""Money budgets: a hard cap holds across two gateways sharing the database, the ledger settles
to what the outcome rows cost, a soft cap sends requests to the cheapest healthy target, and
cost-aware failover orders equal backups by price (``core/budgets.py``, ``worker/gateway/budget.py``)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from activities.storage.budget_ledger import BudgetLedger
from activities.storage.budget_tables import budget_spend
from activities.storage.tables import outcomes
from core.budgets import BudgetRule, estimate_usd, period_bounds
from core.config import Price
from core.plan import PlanInput, build_plan
from tests.configs import sim_config
from tests.gateway.conftest import chat, gateway_under_test
from tests.gateway.test_admission_replicas import gateway_process
from worker.simulated import sim_config_dict

LOCAL = "openai/local-llama-3.1-8b@local"


@pytest.fixture(autouse=True)
async def empty_ledger(engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.delete(budget_spend))


def test_rules_estimates_and_periods() -> None:
    with pytest.raises(ValidationError, match="soft_usd"):
        BudgetRule(scope="tenant", name="a", hard_usd=1, soft_usd=2)
    assert BudgetRule(scope="tenant", name="*", hard_usd=1).matches("anyone")
    assert not BudgetRule(scope="key", name="k1", hard_usd=1).matches(None)
    # upper bound: the dearest price of the chain, output cap (or 1024 tokens)
    prices = [Price(input=1.0, output=2.0), Price(input=3.0, output=15.0)]
    assert estimate_usd(1000, 100, prices) == pytest.approx((3000 + 1500) / 1e6)
    assert estimate_usd(0, None, prices) == pytest.approx(1024 * 15 / 1e6)
    start, end = period_bounds("month", 1_765_100_000.0)  # 2025-12-07 UTC
    assert (start, end) == (1_764_547_200.0, 1_767_225_600.0)  # 2025-12-01 .. 2026-01-01
    assert period_bounds("day", 1_765_100_000.0) == (1_765_065_600.0, 1_765_152_000.0)


def test_cost_aware_failover_and_prefer_cheaper_order_the_plan() -> None:
    cfg = sim_config("http://127.0.0.1:9")
    base = build_plan(cfg, PlanInput(task_type="support_reply", estimated_prompt_tokens=100, output_cap=100), {}, 0)
    cheap = build_plan(cfg, PlanInput(task_type="support_reply", estimated_prompt_tokens=100, output_cap=100,
                                      prefer_cheaper=True), {}, 0)
    order = [e.target for e in base.entries]
    assert order[0].startswith("openai/gpt-4o") and order[-1] == LOCAL
    assert [e.target for e in cheap.entries][:2] == [LOCAL, "gemini/gemini-2.0-flash@us-central"]
    assert "cheaper first (soft budget)" in cheap.entries[0].reasons
    data = cfg.model_dump()
    data["routes"]["support_reply"]["cost_aware_failover"] = True
    aware = build_plan(type(cfg).model_validate(data), PlanInput(task_type="support_reply",
                                                                 estimated_prompt_tokens=100, output_cap=100), {}, 0)
    got = [e.target for e in aware.entries]
    assert got[0] == order[0] and got[1] == LOCAL  # the primary stays first; backups cheapest first


async def _spent_rows(engine, since: float) -> float:
    async with engine.connect() as conn:
        return float((await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(outcomes.c.cost_usd), 0.0))
                                         .where(outcomes.c.created_at >= since,
                                                outcomes.c.tenant == "capped"))).scalar())


async def test_hard_cap_holds_across_two_gateway_processes_and_settles_to_the_outcome_rows(
        temporal_env, db_url, sim, engine, tmp_path) -> None:
    since = time.time() - 1
    budgets = {"budgets": [{"scope": "tenant", "name": "capped", "period": "day", "hard_usd": 0.006}]}
    cfg = sim_config_dict(sim.base_url, gateway={"auth": "off", "port": 0}, **budgets)
    env = {**os.environ, "SWITCHYARD_HOME": str(tmp_path / "home"), "DATABASE_URL": db_url,
           "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": temporal_env.client.namespace, "OTEL_TRACES_EXPORTER": "none",
           "SWITCHYARD_TASK_QUEUE": f"gw-budget-{uuid.uuid4().hex[:8]}"}
    async with gateway_process(tmp_path, cfg, env) as url, \
            gateway_under_test(temporal_env.client, sim, db_url, config=budgets) as local, \
            httpx.AsyncClient(base_url=url, timeout=60) as remote:
        statuses, refused, served = [], None, set()
        for i in range(12):
            client = (remote, local.http)[i % 2]  # a `switchyard gateway` subprocess and this process, in turn
            r = await client.post("/v1/chat/completions", json=chat(user=f"b{i}"),
                                  headers={"x-switchyard-tenant": "capped"})
            statuses.append(r.status_code)
            if r.status_code == 200:
                served.add(i % 2)
            if r.status_code == 429:
                refused = r
            await asyncio.sleep(0.05)  # let the settlement (after the response) land
        assert 200 in statuses and 429 in statuses and served == {0, 1}  # both processes spent from one cap
        assert statuses.index(429) > 1 and all(s == 429 for s in statuses[statuses.index(429):])
        body = refused.json()["error"]
        assert body["code"] == "budget_exceeded" and body["type"] == "insufficient_quota"
        assert "tenant 'capped'" in body["message"] and int(refused.headers["retry-after"]) > 0
        # other tenants are not capped
        assert (await local.http.post("/v1/chat/completions", json=chat(user="free"),
                                    headers={"x-switchyard-tenant": "free"})).status_code == 200
    start, _ = period_bounds("day", time.time())
    spent, reserved = await BudgetLedger(engine).spend("tenant", "capped", start)
    assert reserved == pytest.approx(0.0, abs=1e-12)
    assert spent == pytest.approx(await _spent_rows(engine, since)) and 0 < spent <= 0.006


async def test_soft_cap_prefers_the_cheapest_healthy_target(temporal_env, db_url, sim) -> None:
    budgets = {"budgets": [{"scope": "route", "name": "support_reply", "period": "month", "hard_usd": 10,
                            "soft_usd": 0.000001}]}
    async with gateway_under_test(temporal_env.client, sim, db_url, config=budgets) as gut:
        first = await gut.http.post("/v1/chat/completions", json=chat(user="s0"))
        assert first.status_code == 200  # the first request's reservation already passes the soft cap
        await asyncio.sleep(0.05)
        r = await gut.http.post("/v1/chat/completions", json=chat(user="s1"))
        assert r.status_code == 200 and r.headers["x-switchyard-budget"] == "soft"
        assert r.headers["x-switchyard-target"] == LOCAL
