"""Semantic response cache end to end: gateway -> AIRequestWorkflow (real Temporal) -> planning's
exact then semantic lookup -> the question embedded by the simulator's embedding targets over
loopback (OpenAI's wire format, failing over to Gemini's) -> the usearch index over the real
database's ``semantic_entries``.

The simulator's vectors are bags of hashed words (``simulator/embeddings.py``): questions sharing
all but one of many words are close (cosine ~0.93), which is what these tests need of a paraphrase
and of a near miss; the precision of a real model is measured in ``bench/semantic_precision.py``.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
import yaml

from activities.storage.outcomes import OutcomeStore
from activities.storage.semantic_tables import semantic_entries
from simulator.server import RunningSimulator, run_simulator
from tests.apis.conftest import EMBEDDING_ROUTE, EMBEDDING_TARGETS, GEMINI_EMB, LOCAL_EMB, OPENAI_EMB
from tests.gateway.conftest import GatewayUnderTest, gateway_under_test
from tests.integration.test_request_path import FAST_SCENARIO
from worker.simulated import sim_config_dict

URL = "/v1/chat/completions"
SEMANTIC = {"mode": "semantic", "ttl_s": 300, "semantic": {"embed_with": "embeddings", "threshold": 0.9}}
ASK = "Could you please tell me how I can reset the password of my account on the website today"
PARAPHRASE = "Could you please tell me how I can reset the password of my account on the website today, thanks so much"
OTHER = "What are the opening hours of the pharmacy counter at the downtown store on public holidays"
ORDER = "I would like you to please refund my order number 12345 as soon as it is possible for you"
ORDER_NEAR_MISS = "I would like you to please refund my order number 12346 as soon as it is possible for you"


@pytest.fixture(autouse=True)
async def empty_index(engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.delete(semantic_entries))


@pytest.fixture
async def esim(tmp_path) -> AsyncIterator[RunningSimulator]:
    sc = copy.deepcopy(FAST_SCENARIO)
    sc["targets"].update({OPENAI_EMB: {}, GEMINI_EMB: {}, LOCAL_EMB: {}})
    path = tmp_path / "semantic.yaml"
    path.write_text(yaml.safe_dump(sc))
    async with run_simulator(str(path), port=0) as s:
        yield s


@pytest.fixture
async def sgw(temporal_env, db_url, esim) -> AsyncIterator[GatewayUnderTest]:
    data = sim_config_dict(esim.base_url)
    routes = {**data["routes"], "embeddings": EMBEDDING_ROUTE}
    routes["support_reply"] = {**routes["support_reply"], "cache": SEMANTIC}
    config = {"targets": data["targets"] + EMBEDDING_TARGETS, "routes": routes}
    async with gateway_under_test(temporal_env.client, esim, db_url, config=config) as gut:
        yield gut


def ask(text: str, *, system: str = "You are a helpful support agent.", **extra) -> dict:
    return {"model": "gpt-4o", "max_tokens": 100,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": text}], **extra}


def chat_calls(gut: GatewayUnderTest) -> int:
    """Chat calls the simulator saw (every target but the embedding ones)."""
    return gut.sim_calls() - sum(gut.sim_calls(t) for t in (OPENAI_EMB, GEMINI_EMB, LOCAL_EMB))


async def test_paraphrase_is_served_from_the_cache_with_its_similarity_and_saving(sgw, engine) -> None:
    first = await sgw.http.post(URL, json=ask(ASK))
    assert first.status_code == 200 and first.headers["x-switchyard-cache"] == "miss"
    assert sgw.sim_calls(OPENAI_EMB) == 1  # the question was embedded by the first embedding target
    calls = chat_calls(sgw)
    second = await sgw.http.post(URL, json=ask(PARAPHRASE))
    assert second.status_code == 200, second.text
    h = second.headers
    assert h["x-switchyard-cache"] == "hit" and h["x-switchyard-target"] == "cache"
    assert 0.9 <= float(h["x-switchyard-cache-similarity"]) < 1.0
    assert chat_calls(sgw) == calls  # no model answered the paraphrase
    assert second.json()["choices"][0]["message"] == first.json()["choices"][0]["message"]
    assert second.json()["usage"]["total_tokens"] == 0
    assert float(h["x-switchyard-saved-usd"]) == float(first.headers["x-switchyard-cost-usd"]) > 0
    await sgw.gw.services.cache.drain()
    rows = await OutcomeStore(engine).for_workflow(h["x-request-id"])
    assert [(r.target, r.cache) for r in rows] == [("cache", "hit")] and "semantic match" in rows[0].message
    unrelated = await sgw.http.post(URL, json=ask(OTHER))
    assert unrelated.headers["x-switchyard-cache"] == "miss"


async def test_near_miss_with_another_order_number_is_not_served_the_other_answer(sgw) -> None:
    assert (await sgw.http.post(URL, json=ask(ORDER))).headers["x-switchyard-cache"] == "miss"
    calls = chat_calls(sgw)
    near = await sgw.http.post(URL, json=ask(ORDER_NEAR_MISS))
    assert near.status_code == 200 and near.headers["x-switchyard-cache"] == "miss"
    assert chat_calls(sgw) == calls + 1
    negated = await sgw.http.post(URL, json=ask(ORDER.replace("please refund", "please do not refund")))
    assert negated.headers["x-switchyard-cache"] == "miss"


async def test_tenant_system_prompt_parameters_and_later_turns_partition_the_matches(sgw) -> None:
    acme = {"x-switchyard-tenant": "acme"}
    assert (await sgw.http.post(URL, json=ask(ASK), headers=acme)).headers["x-switchyard-cache"] == "miss"
    assert (await sgw.http.post(URL, json=ask(PARAPHRASE), headers=acme)).headers["x-switchyard-cache"] == "hit"
    other_tenant = await sgw.http.post(URL, json=ask(PARAPHRASE), headers={"x-switchyard-tenant": "globex"})
    assert other_tenant.headers["x-switchyard-cache"] == "miss"
    other_system = await sgw.http.post(URL, json=ask(PARAPHRASE, system="You are a pirate."), headers=acme)
    assert other_system.headers["x-switchyard-cache"] == "miss"
    other_params = await sgw.http.post(URL, json=ask(PARAPHRASE, temperature=0.2), headers=acme)
    assert other_params.headers["x-switchyard-cache"] == "miss"
    later_turn = ask(PARAPHRASE)
    later_turn["messages"][1:1] = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
    turn = await sgw.http.post(URL, json=later_turn, headers=acme)
    assert turn.headers["x-switchyard-cache"] == "miss"  # off beyond the first turn (multi_turn: false)


async def test_embedding_fails_over_and_a_dead_embedding_chain_is_a_miss_not_an_error(sgw) -> None:
    await sgw.fault(OPENAI_EMB, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    assert (await sgw.http.post(URL, json=ask(ASK))).headers["x-switchyard-cache"] == "miss"
    assert sgw.sim_calls(GEMINI_EMB) == 1  # the next embedding target embedded the question
    assert (await sgw.http.post(URL, json=ask(PARAPHRASE))).headers["x-switchyard-cache"] == "hit"
    for t in (GEMINI_EMB, LOCAL_EMB):
        await sgw.fault(t, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    r = await sgw.http.post(URL, json=ask(OTHER))
    assert r.status_code == 200 and r.headers["x-switchyard-cache"] == "miss"
    again = await sgw.http.post(URL, json=ask(OTHER))
    assert again.status_code == 200 and again.headers["x-switchyard-cache"] == "hit"  # the exact cache still works
