"""Adaptive per-target concurrency limits on the real stack: a target at its limit is not called;
the attempt fails over at once (``Overloaded``, "not called" in the trace), and lower priorities
get a smaller share of the limit, so batch traffic yields to interactive requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.configs import sim_config_dict
from tests.gateway.conftest import PRIMARY, SECOND, chat, gateway_under_test

FIXED = {"mode": "aimd", "initial_limit": 4, "min_limit": 4, "max_limit": 4}  # a fixed limit of 4 calls


async def _burst(gut, priority: str, n: int) -> list[Any]:  # type: ignore[no-untyped-def]
    return await asyncio.gather(*(gut.http.post("/v1/chat/completions", json=chat(),
                                                headers={"x-switchyard-priority": priority}) for _ in range(n)))


@pytest.mark.timeout(120)
async def test_a_target_at_its_limit_is_skipped_without_a_call(temporal_env, db_url, sim) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url, config={"concurrency": FIXED}) as gut:
        chain = list(gut.sim.world.targets)
        for target in chain:  # every call outlasts the burst's arrivals, so a target's calls all overlap
            await gut.fault(target, latency_ms=1500 if target == PRIMARY else 3000)
        answers = await _burst(gut, "critical", 10)
        for target in chain:
            await gut.fault(target, reset=True)
        primary_calls = gut.sim_calls(PRIMARY)
        limit, in_flight = gut.gw.services.limiters.limit(PRIMARY)
    assert [r.status_code for r in answers] == [200] * 10
    on_primary = [r for r in answers if r.headers["x-switchyard-target"] == PRIMARY]
    assert len(on_primary) == primary_calls == 4  # the limit; the rest never reached the primary
    moved = [r for r in answers if r.headers["x-switchyard-target"] != PRIMARY]
    assert all(int(r.headers["x-switchyard-failovers"]) >= 1 for r in moved)
    per_target = {r.headers["x-switchyard-target"] for r in answers}
    assert all(gut.sim_calls(t) <= 4 for t in per_target)  # every target has its own limit of 4
    assert (limit, in_flight) == (4, 0)


@pytest.mark.timeout(120)
async def test_batch_priority_gets_only_its_share_of_a_target(temporal_env, db_url, sim) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url, config={"concurrency": FIXED}) as gut:
        await gut.fault(PRIMARY, latency_ms=1500)
        answers = await _burst(gut, "batch", 4)
        await gut.fault(PRIMARY, reset=True)
        primary_calls = gut.sim_calls(PRIMARY)
    assert [r.status_code for r in answers] == [200] * 4
    assert primary_calls == 1  # batch may use 25% of the limit of 4


@pytest.mark.timeout(120)
async def test_failover_budget_stops_overload_from_multiplying_traffic(temporal_env, db_url, sim) -> None:
    routes = sim_config_dict("http://unused")["routes"]
    routes["support_reply"] = {**routes["support_reply"], "retries": 0}
    config = {"routes": routes, "concurrency": {"failover_budget": {"ratio": 0.2, "floor_per_s": 0}}}
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        # a hosted 503 is Overloaded; retry-after 0 so the target is not cooled down (planning would skip it)
        await gut.fault(PRIMARY, error_rate=1.0,
                        errors=[{"status": 503, "share": 1.0, "headers": {"retry-after": "0"}}])
        # five requests: after that the health layer starts moving traffic off the failing primary
        answers = [await gut.http.post("/v1/chat/completions", json=chat()) for _ in range(5)]
        await gut.fault(PRIMARY, reset=True)
        second_calls = gut.sim_calls(SECOND)
    assert [r.status_code for r in answers] == [503] * 4 + [200]  # 0.2 failovers per request
    assert second_calls == 1  # without the budget: 5
    refused = answers[0]
    assert refused.headers["retry-after"] == "1"
    assert "failover budget of route 'support_reply' is exhausted" in refused.json()["error"]["message"]
    assert "Overloaded" in refused.json()["error"]["message"]


@pytest.mark.timeout(120)
async def test_a_chain_whose_targets_are_all_at_their_limit_sheds_at_the_door(temporal_env, db_url, sim) -> None:
    local = "openai/local-llama-3.1-8b@local"
    routes = sim_config_dict("http://unused")["routes"]
    routes["solo"] = {"chain": ["openai/local-llama-3.1-8b"], "retries": 0, "overload": {"max_in_flight": 100}}
    config = {"routes": routes, "concurrency": {"mode": "aimd", "initial_limit": 2, "min_limit": 2, "max_limit": 2}}
    headers = {"x-switchyard-task-type": "solo"}
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        await gut.fault(local, latency_ms=2000)
        running = [asyncio.create_task(gut.http.post("/v1/chat/completions", json=chat(),
                                                     headers={**headers, "x-switchyard-priority": "critical"}))
                   for _ in range(2)]
        limiters = gut.gw.services.limiters
        for _ in range(200):  # until both calls hold the target's two slots
            if limiters.limit(local)[1] == 2:
                break
            await asyncio.sleep(0.01)
        started_before = len(gut.started)
        shed = await gut.http.post("/v1/chat/completions", json=chat(),
                                   headers={**headers, "x-switchyard-priority": "high"})
        first = await asyncio.gather(*running)
        await gut.fault(local, reset=True)
    assert [r.status_code for r in first] == [200, 200]
    assert shed.status_code == 429 and shed.headers["x-switchyard-shed"].startswith("429; priority=high; route=solo")
    assert len(gut.started) == started_before  # refused before any workflow
