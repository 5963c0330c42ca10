"""Exact response cache end to end: gateway -> AIRequestWorkflow (real Temporal) -> planning's lookup
-> simulator over loopback; entries in the real database."""

from __future__ import annotations

import json

import sqlalchemy as sa

from activities.storage.cache_tables import cache_entries
from activities.storage.outcomes import OutcomeStore
from tests.cache.conftest import CACHE, age_entries, all_failing, cached_gateway
from tests.gateway.conftest import chat

URL = "/v1/chat/completions"
TOOLS = [{"type": "function", "function": {"name": "order_status", "parameters": {"type": "object"}}}]


async def entries(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(cache_entries))).scalar_one()


async def test_second_identical_request_is_served_from_cache_with_zero_usage_and_saved_cost(gw, engine) -> None:
    first = await gw.http.post(URL, json=chat())
    assert first.status_code == 200 and first.headers["x-switchyard-cache"] == "miss"
    calls = gw.sim_calls()
    second = await gw.http.post(URL, json=chat())
    assert second.status_code == 200, second.text
    h = second.headers
    assert h["x-switchyard-cache"] == "hit" and h["x-switchyard-target"] == "cache" and int(h["age"]) >= 0
    assert gw.sim_calls() == calls  # no provider was called
    assert second.json()["choices"][0]["message"] == first.json()["choices"][0]["message"]
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["usage"]["total_tokens"] == 0 and float(h["x-switchyard-cost-usd"]) == 0
    saved = float(h["x-switchyard-saved-usd"])
    assert saved == float(first.headers["x-switchyard-cost-usd"]) > 0
    await gw.gw.services.cache.drain()  # a hit's row is written after the answer
    rows = await OutcomeStore(engine).for_workflow(h["x-request-id"])
    assert [(r.target, r.cache, r.cost_usd, r.prompt_tokens) for r in rows] == [("cache", "hit", 0.0, 0)]
    assert abs(rows[0].saved_usd - saved) < 1e-6


async def test_every_parameter_that_changes_the_answer_changes_the_key(gw) -> None:
    base = await gw.http.post(URL, json=chat())
    assert base.headers["x-switchyard-cache"] == "miss"
    other_messages = [{"role": "user", "content": "Where is my refill order NW-48214?"}]
    variants = {"temperature": {"temperature": 0.2}, "top_p": {"top_p": 0.5}, "max_tokens": {"max_tokens": 90},
                "max_completion_tokens": {"max_completion_tokens": 80}, "stop": {"stop": ["\n\n"]},
                "seed": {"seed": 7}, "n": {"n": 2}, "tools": {"tools": TOOLS}, "tool_choice": {"tool_choice": "none"},
                "response_format": {"response_format": {"type": "json_object"}},
                "messages": {"messages": other_messages}}
    for name, change in variants.items():
        r = await gw.http.post(URL, json=chat(**change))
        assert (name, r.status_code, r.headers.get("x-switchyard-cache")) == (name, 200, "miss")
    route = await gw.http.post(URL, json=chat(), headers={"x-switchyard-task-type": "contract_clause_summary"})
    assert route.headers["x-switchyard-cache"] == "miss"
    # fields that do not change the answer keep the key: the model alias, user, metadata
    same = await gw.http.post(URL, json=chat(model="switchyard/auto", user="u-1", metadata={"ticket": "T-9"}))
    assert same.headers["x-switchyard-cache"] == "hit"


async def test_tenant_a_never_gets_tenant_b_entry(gw) -> None:
    a = await gw.http.post(URL, json=chat(), headers={"x-switchyard-tenant": "acme"})
    assert a.headers["x-switchyard-cache"] == "miss"
    b = await gw.http.post(URL, json=chat(), headers={"x-switchyard-tenant": "globex"})
    assert b.headers["x-switchyard-cache"] == "miss" and b.headers["x-switchyard-target"] != "cache"
    again = await gw.http.post(URL, json=chat(), headers={"x-switchyard-tenant": "acme"})
    assert again.headers["x-switchyard-cache"] == "hit"


async def test_never_cached_truncated_failed_or_nondeterministic(gw, engine) -> None:
    cut = await gw.http.post(URL, json=chat(max_tokens=2))  # the simulator cuts at max_tokens: finish "length"
    assert cut.json()["choices"][0]["finish_reason"] == "length"
    hot = await gw.http.post(URL, json=chat(temperature=1.2))  # above the route's max_temperature 0.5
    assert hot.headers["x-switchyard-cache"] == "bypass"
    await all_failing(gw)
    failed = await gw.http.post(URL, json=chat(seed=3))
    assert failed.status_code == 503
    assert await entries(engine) == 0
    for t in ("openai/gpt-4o@us-east", "openai/gpt-4o@eu-west", "anthropic/claude-3-5-sonnet@us-east",
              "gemini/gemini-2.0-flash@us-central", "openai/local-llama-3.1-8b@local"):
        await gw.fault(t, reset=True)
    for body in (chat(max_tokens=2), chat(seed=3)):  # a cached error or truncation is never replayed
        r = await gw.http.post(URL, json=body)
        assert r.status_code == 200 and r.headers["x-switchyard-cache"] == "miss"


async def test_per_request_controls(gw, engine) -> None:
    nostore = await gw.http.post(URL, json=chat(), headers={"cache-control": "no-store"})
    assert nostore.headers["x-switchyard-cache"] == "bypass" and await entries(engine) == 0
    off = await gw.http.post(URL, json=chat(metadata={"cache": "off"}))
    assert off.headers["x-switchyard-cache"] == "bypass" and await entries(engine) == 0
    nocache = await gw.http.post(URL, json=chat(), headers={"cache-control": "no-cache"})
    assert nocache.headers["x-switchyard-cache"] == "bypass" and await entries(engine) == 1  # stored, not looked up
    hit = await gw.http.post(URL, json=chat())
    assert hit.headers["x-switchyard-cache"] == "hit"
    refresh = await gw.http.post(URL, json=chat(), headers={"x-switchyard-cache": "refresh"})
    assert refresh.headers["x-switchyard-cache"] == "bypass" and refresh.headers["x-switchyard-target"] != "cache"
    bad = await gw.http.post(URL, json=chat(), headers={"x-switchyard-cache": "sometimes"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "x-switchyard-cache"


async def test_stale_served_only_within_the_window_and_labelled(gw, engine) -> None:
    first = await gw.http.post(URL, json=chat())
    assert first.status_code == 200
    await age_entries(engine, gw, expired_by_s=30, stale_left_s=60)
    await all_failing(gw)
    stale = await gw.http.post(URL, json=chat())
    assert stale.status_code == 200, stale.text
    assert stale.headers["x-switchyard-cache"] == "stale" and stale.headers["x-switchyard-target"] == "cache"
    assert stale.json()["choices"][0]["message"] == first.json()["choices"][0]["message"]
    await gw.gw.services.cache.drain()  # a hit's row is written after the answer
    rows = await OutcomeStore(engine).for_workflow(stale.headers["x-request-id"])
    assert rows[0].cache == "stale" and rows[0].seq == 0  # the cache's row, then the chain's failed calls
    assert len(rows) > 1 and all(r.status_class != "ok" and r.cache is None for r in rows[1:])
    await age_entries(engine, gw, expired_by_s=700, stale_left_s=-100)  # past the stale window
    gone = await gw.http.post(URL, json=chat())
    assert gone.status_code == 503 and "x-switchyard-cache" in gone.headers
    assert gone.headers["x-switchyard-cache"] == "miss"


async def test_expired_entry_is_a_miss_while_targets_answer(gw, engine) -> None:
    await gw.http.post(URL, json=chat())
    await age_entries(engine, gw, expired_by_s=1, stale_left_s=600)
    r = await gw.http.post(URL, json=chat())
    assert r.headers["x-switchyard-cache"] == "miss" and r.headers["x-switchyard-target"] != "cache"


async def test_streamed_request_is_served_from_cache_as_a_stream(gw) -> None:
    first = await gw.http.post(URL, json=chat())
    r = await gw.http.post(URL, json=chat(stream=True, stream_options={"include_usage": True}))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-switchyard-cache"] == "hit"
    events = [line.removeprefix("data: ") for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == first.json()["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 0


async def test_quality_flagged_answer_is_returned_but_never_stored(gw, engine) -> None:
    await gw.fault("openai/gpt-4o@us-east", corrupt_share=1.0, corrupt_kind="truncated")  # flagged, not failed over
    r = await gw.http.post(URL, json=chat())
    assert r.status_code == 200 and r.headers["x-switchyard-target"] == "openai/gpt-4o@us-east"
    await gw.gw.services.cache.drain()  # a hit's row is written after the answer
    rows = await OutcomeStore(engine).for_workflow(r.headers["x-request-id"])
    assert "truncated" in rows[-1].quality_flags
    assert await entries(engine) == 0
    assert (await gw.http.post(URL, json=chat())).headers["x-switchyard-cache"] == "miss"


async def test_client_helper_entry_point_shares_the_cache(gw) -> None:
    from core.chat import ChatRequest
    from core.request import RequestInput
    from tests.gateway.conftest import MESSAGES

    first = await gw.http.post(URL, json=chat())
    assert first.headers["x-switchyard-cache"] == "miss"
    inp = RequestInput(request=ChatRequest.model_validate({"messages": MESSAGES, "max_tokens": 100}),
                       task_type="support_reply")
    res = await gw.gw.sy.submit(inp, eager=True)  # SwitchyardClient.submit, not the HTTP gateway
    assert res.trace.cache == "hit" and res.trace.target_used == "cache" and res.trace.cost_usd == 0
    assert abs(res.trace.saved_usd - float(first.headers["x-switchyard-cost-usd"])) < 1e-6
    assert res.response is not None and res.response.text() == first.json()["choices"][0]["message"]["content"]


async def test_hits_are_answered_by_the_gateway_or_by_a_workflow_as_the_route_says(gw, temporal_env, db_url,
                                                                                  sim, engine) -> None:
    await gw.http.post(URL, json=chat())
    started = len(gw.started)
    fast = await gw.http.post(URL, json=chat())
    assert fast.headers["x-switchyard-cache"] == "hit" and len(gw.started) == started  # no workflow started
    assert fast.headers["x-request-id"].startswith("cache-")
    async with cached_gateway(temporal_env.client, sim, db_url, cache={**CACHE, "gateway_hits": False}) as audited:
        hit = await audited.http.post(URL, json=chat())
        assert hit.headers["x-switchyard-cache"] == "hit" and len(audited.started) == 1  # a workflow answered it
        desc = await temporal_env.client.get_workflow_handle(hit.headers["x-request-id"]).describe()
        assert desc.status.name == "COMPLETED"
