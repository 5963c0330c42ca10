"""Admission in the gateway on the real stack: rate limits per tenant and per key (429 in OpenAI's
shape, with Retry-After and ``x-ratelimit-*``, nothing started in Temporal), a store outage admits,
and priority shedding under a synthetic overload keeps high-priority requests served while low
priority gets 429 or a brownout route."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.configs import sim_config_dict
from tests.gateway.conftest import PRIMARY, chat, gateway_under_test
from tests.gateway.test_rate_store import redis_up


def _admission(store: str, **limits: Any) -> dict[str, Any]:
    return {"admission": {"store": store, **limits}}


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_tenant_request_limit_answers_429_like_openai(temporal_env, db_url, sim, store: str) -> None:
    if store == "redis" and not await redis_up():
        pytest.skip("no Redis server at 127.0.0.1:6379")
    tenant = f"rl-{store}-{uuid.uuid4().hex[:8]}"  # Redis outlives test sessions
    config = _admission(store, tenants={tenant: {"requests_per_min": 3}})
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        answers = [await gut.http.post("/v1/chat/completions", json=chat(), headers={"x-switchyard-tenant": tenant})
                   for _ in range(5)]
        other = await gut.http.post("/v1/chat/completions", json=chat(), headers={"x-switchyard-tenant": "other"})
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert other.status_code == 200  # limits are per tenant
    ok, refused = answers[0], answers[3]
    assert ok.headers["x-ratelimit-limit-requests"] == "3"
    assert ok.headers["x-ratelimit-remaining-requests"] == "2"
    assert ok.headers["x-ratelimit-reset-requests"].endswith("s")
    err = refused.json()["error"]
    assert err["type"] == "rate_limit_error" and err["code"] == "rate_limit_exceeded"
    assert f"tenant:{tenant}" in err["message"] and "requests per min" in err["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 20  # one request refills in 60/3 s
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert len([i for i in gut.started if i.tenant == tenant]) == 3  # refused requests never reached Temporal


async def test_a_prompt_larger_than_the_token_limit_is_refused_without_retry_after(
        temporal_env, db_url, sim) -> None:
    config = _admission("database", per_tenant={"tokens_per_min": 500})
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        small = await gut.http.post("/v1/chat/completions", json=chat(max_tokens=100),
                                    headers={"x-switchyard-tenant": "tok-a"})
        big = await gut.http.post("/v1/chat/completions", json=chat(max_tokens=2000),
                                  headers={"x-switchyard-tenant": "tok-a"})
    assert small.status_code == 200 and small.headers["x-ratelimit-limit-tokens"] == "500"
    assert big.status_code == 429 and "retry-after" not in big.headers
    assert "Request too large" in big.json()["error"]["message"]


async def test_per_key_limits_apply_to_each_gateway_key(temporal_env, db_url, sim) -> None:
    config = _admission("database", per_key={"requests_per_min": 2})
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config, auth="required") as gut:
        k1 = await gut.gw.keys.create("keyed-tenant")
        k2 = await gut.gw.keys.create("keyed-tenant")

        async def send(key: str) -> int:
            r = await gut.http.post("/v1/chat/completions", json=chat(), headers={"authorization": f"Bearer {key}"})
            return r.status_code
        first = [await send(k1.key) for _ in range(3)]
        second = [await send(k2.key) for _ in range(2)]
    assert first == [200, 200, 429]
    assert second == [200, 200]


async def test_an_unreachable_limit_store_admits_requests(temporal_env, db_url, sim) -> None:
    config = _admission("redis", redis_url="redis://127.0.0.1:1/0", per_tenant={"requests_per_min": 1})
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        codes = [(await gut.http.post("/v1/chat/completions", json=chat())).status_code for _ in range(3)]
    assert codes == [200, 200, 200]


def _routes(**support_overload: Any) -> dict[str, Any]:
    routes = sim_config_dict("http://unused")["routes"]
    routes["support_reply"] = {**routes["support_reply"], "overload": support_overload}
    routes["support_cheap"] = {"chain": ["openai/local-llama-3.1-8b"], "retries": 0}
    return {"routes": routes}


async def _burst(gut, priorities: list[str]) -> list[Any]:  # type: ignore[no-untyped-def]
    return await asyncio.gather(*(gut.http.post("/v1/chat/completions", json=chat(),
                                                headers={"x-switchyard-priority": p}) for p in priorities))


@pytest.mark.timeout(120)
async def test_overload_sheds_low_priority_first_and_serves_every_high_priority_request(
        temporal_env, db_url, sim) -> None:
    config = _routes(max_in_flight=20, retry_after_s=2)
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        await gut.fault(PRIMARY, latency_ms=1500)  # each call holds its slot ~1.5 s: a synthetic overload
        priorities = (["low"] * 4 + ["high"]) * 8  # 32 low, 8 high, arriving interleaved
        answers = await _burst(gut, priorities)
        await gut.fault(PRIMARY, reset=True)
        in_flight_after = gut.gw.shedder.in_flight["support_reply"]
    by = {p: [r for r, q in zip(answers, priorities, strict=True) if q == p] for p in ("low", "high")}
    assert [r.status_code for r in by["high"]] == [200] * 8
    shed = [r for r in by["low"] if r.status_code == 429]
    assert shed and all(r.status_code in (200, 429) for r in by["low"])
    assert sum(r.status_code == 200 for r in by["low"]) >= 1
    for r in shed:
        assert r.headers["retry-after"] == "2" and r.headers["x-switchyard-shed"].startswith("429; priority=low")
        assert r.json()["error"]["code"] == "overloaded"
    assert gut.gw.shedder.shed_count == {"low": len(shed)}
    assert len(gut.started) == 40 - len(shed)  # a shed request never reaches Temporal
    assert in_flight_after == 0


@pytest.mark.timeout(120)
async def test_brownout_moves_shed_requests_to_the_cheaper_route(temporal_env, db_url, sim) -> None:
    config = _routes(max_in_flight=4, brownout_route="support_cheap")
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        await gut.fault(PRIMARY, latency_ms=1500)
        answers = await _burst(gut, ["low"] * 6 + ["critical"])
        await gut.fault(PRIMARY, reset=True)
    assert [r.status_code for r in answers] == [200] * 7
    browned = [r for r in answers if "x-switchyard-brownout" in r.headers]
    assert 1 <= len(browned) <= 5  # low may fill 2 of the 4 slots; the rest brown out
    for r in browned:
        assert r.headers["x-switchyard-brownout"] == "support_reply -> support_cheap"
        assert r.headers["x-switchyard-route"] == "support_cheap"
        assert r.headers["x-switchyard-target"] == "openai/local-llama-3.1-8b@local"
    assert "x-switchyard-brownout" not in answers[-1].headers  # critical keeps the primary route
    moved = [i for i in gut.started if i.task_type == "support_cheap"]
    assert len(moved) == len(browned) and all(i.metadata["brownout_from"] == "support_reply" for i in moved)


async def test_priority_names_and_the_tenant_tier_set_the_temporal_priority(temporal_env, db_url, sim) -> None:
    config = {"admission": {"tenants": {"gold": {"tier": "high"}}}}
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        for headers in ({"x-switchyard-priority": "critical"}, {"x-switchyard-tenant": "gold"},
                        {"x-switchyard-tenant": "gold", "x-switchyard-priority": "batch"}, {}):
            assert (await gut.http.post("/v1/chat/completions", json=chat(), headers=headers)).status_code == 200
    assert [i.priority for i in gut.started] == [1, 2, 5, None]


@pytest.mark.timeout(60)
async def test_a_live_stream_counts_in_flight_and_releases_its_slot(temporal_env, db_url, sim) -> None:
    config = _routes(max_in_flight=10)
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        await gut.fault(PRIMARY, tokens_per_s=40)  # ~1 s of streaming
        shedder = gut.gw.shedder
        task = asyncio.create_task(gut.http.post("/v1/chat/completions", json=chat(stream=True),
                                                 headers={"x-switchyard-priority": "low"}))
        seen = set()
        while not task.done():
            seen.add(shedder.in_flight.get("support_reply", 0))
            await asyncio.sleep(0.01)
        r = await task
        await gut.fault(PRIMARY, reset=True)
    assert r.status_code == 200 and r.headers["x-switchyard-priority"] == "low"
    assert r.text.rstrip().endswith("data: [DONE]")
    assert 1 in seen and shedder.in_flight["support_reply"] == 0
