"""``POST /v1/embeddings`` with the official ``openai`` SDK (sync, async) against the gateway: a
fallback chain of embedding targets, all inputs of a request on one model (a failover re-embeds
all of them on the next), dimensions stated, base64, outcome rows, and OpenAI-shaped errors."""

from __future__ import annotations

import asyncio
import math

import openai
import pytest
import sqlalchemy as sa

from activities.storage.tables import outcomes
from simulator.embeddings import vector
from tests.apis.conftest import GEMINI_EMB, LOCAL_EMB, OPENAI_EMB
from worker.gateway.server import serve_app

TEXTS = ["Where is my refill order NW-48213?", "How do I cancel my subscription?", "Opening hours on Sunday"]


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


async def test_sdk_embeds_on_the_first_target_with_dimensions_and_usage(gw, engine) -> None:
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused")
        res = await client.embeddings.create(model="text-embedding-3-small", input=TEXTS, dimensions=64)
        raw = await client.embeddings.with_raw_response.create(model="embeddings", input="one text")
    assert res.model == "text-embedding-3-small" and len(res.data) == 3
    assert [d.index for d in res.data] == [0, 1, 2] and all(len(d.embedding) == 64 for d in res.data)
    assert res.data[0].embedding == pytest.approx(vector("text-embedding-3-small", TEXTS[0], 64), abs=1e-6)
    assert res.usage.prompt_tokens > 0 and res.usage.total_tokens == res.usage.prompt_tokens
    assert raw.headers["x-switchyard-dimensions"] == "256" and raw.headers["x-switchyard-target"] == OPENAI_EMB
    wf = raw.headers["x-switchyard-workflow-id"]
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(outcomes).where(outcomes.c.workflow_id == wf))).mappings().all()
    assert [(r["target"], r["status_class"]) for r in rows] == [(OPENAI_EMB, "ok")] and rows[0]["cost_usd"] > 0


async def test_failover_re_embeds_every_input_on_one_model(gw) -> None:
    await gw.fault(OPENAI_EMB, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    async with serve_app(gw.app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        raw = await asyncio.to_thread(client.embeddings.with_raw_response.create, model="embeddings", input=TEXTS)
    res = raw.parse()
    assert raw.headers["x-switchyard-target"] == GEMINI_EMB and raw.headers["x-switchyard-failovers"] == "1"
    assert res.model == "text-embedding-004"
    for text, d in zip(TEXTS, res.data, strict=True):  # every vector from the one model that answered
        assert d.embedding == pytest.approx(vector("text-embedding-004", text, 256), abs=1e-6)
        assert _cos(d.embedding, vector("text-embedding-3-small", text, 256)) < 0.9


async def test_base64_encoding_is_little_endian_float32(gw) -> None:
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused")
        f = await client.embeddings.create(model="embeddings", input=TEXTS[0], encoding_format="float")
        b = await client.embeddings.create(model="embeddings", input=TEXTS[0])  # the SDK asks base64 and decodes
    assert b.data[0].embedding == pytest.approx(f.data[0].embedding, abs=1e-6)


async def test_the_local_model_answers_when_both_providers_are_down(gw) -> None:
    for t in (OPENAI_EMB, GEMINI_EMB):
        await gw.fault(t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        raw = await client.embeddings.with_raw_response.create(model="embeddings", input=TEXTS, dimensions=32)
    res = raw.parse()
    assert raw.headers["x-switchyard-target"] == LOCAL_EMB and raw.headers["x-switchyard-failovers"] == "2"
    assert res.model == "nomic-embed-text" and all(len(d.embedding) == 32 for d in res.data)


async def test_every_target_down_is_a_503_and_bad_bodies_are_400s_naming_the_field(gw) -> None:
    for t in (OPENAI_EMB, GEMINI_EMB, LOCAL_EMB):
        await gw.fault(t, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    async with serve_app(gw.app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.InternalServerError):
            await client.embeddings.create(model="embeddings", input="x")
        with pytest.raises(openai.BadRequestError) as e:
            await client.embeddings.create(model="embeddings", input=[[1, 2, 3]])
        assert e.value.body["param"] == "input"
        with pytest.raises(openai.BadRequestError) as e:
            await client.embeddings.create(model="embeddings", input="x", dimensions=0)
        assert e.value.body["param"] == "dimensions"
        with pytest.raises(openai.NotFoundError):
            await client.embeddings.create(model="no-such-model", input="x")
    r = await gw.http.post("/v1/embeddings", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


async def test_a_chat_request_is_never_sent_to_an_embedding_only_target(gw) -> None:
    for model in ("text-embedding-3-small", "embeddings"):
        r = await gw.http.post("/v1/chat/completions", json={
            "model": model, "messages": [{"role": "user", "content": "Where is my order?"}]})
        assert r.status_code == 400, (model, r.status_code, r.text)
        assert "chat" in r.json()["error"]["message"]
    assert gw.sim_calls(OPENAI_EMB) == gw.sim_calls(GEMINI_EMB) == gw.sim_calls(LOCAL_EMB) == 0
