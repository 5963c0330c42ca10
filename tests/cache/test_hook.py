"""The gateway-side cache hook (``worker/gateway/cache_hook.py``) that load shedding calls."""

from __future__ import annotations

from starlette.datastructures import Headers

from activities.storage.outcomes import OutcomeStore
from core.chat import ChatRequest
from tests.gateway.conftest import chat
from worker.gateway.cache_hook import serve_from_cache
from worker.gateway.inputs import Caller, build_request


def greq_of(gw, body: dict, headers: dict | None = None):
    cfg, models = gw.gw.config()
    return build_request(ChatRequest.model_validate(body), Headers(headers or {}), Caller(), cfg, models)


async def test_hook_serves_a_fresh_entry_without_a_workflow(gw, engine) -> None:
    assert await serve_from_cache(gw.gw, greq_of(gw, chat())) is None  # nothing stored yet
    first = await gw.http.post("/v1/chat/completions", json=chat())
    started = len(gw.started)
    resp = await serve_from_cache(gw.gw, greq_of(gw, chat()))
    assert resp is not None and len(gw.started) == started  # no workflow was started
    assert resp.headers["x-switchyard-cache"] == "hit" and resp.headers["x-switchyard-target"] == "cache"
    await gw.gw.services.cache.drain()  # a hit's row is written after the answer
    rows = await OutcomeStore(engine).for_workflow(resp.headers["x-request-id"])
    assert [(r.target, r.cache, r.cost_usd) for r in rows] == [("cache", "hit", 0.0)]
    assert first.json()["choices"][0]["message"]["content"] in resp.body.decode()
    other_tenant = greq_of(gw, chat(), {"x-switchyard-tenant": "globex"})
    assert await serve_from_cache(gw.gw, other_tenant) is None
    assert await serve_from_cache(gw.gw, greq_of(gw, chat(), {"cache-control": "no-cache"})) is None
    streamed = await serve_from_cache(gw.gw, greq_of(gw, chat(stream=True)))
    assert streamed is not None and streamed.body.endswith(b"data: [DONE]\n\n")
