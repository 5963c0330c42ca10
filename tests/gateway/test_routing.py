"""Model -> route mapping, response shape and trace headers, idempotency and health, in process."""

from __future__ import annotations

import asyncio
import json

from activities.storage.outcomes import OutcomeStore
from tests.gateway.conftest import PRIMARY, SECOND, chat


async def test_model_field_selects_the_route_by_the_documented_rule(gw_open) -> None:
    cases = {  # examples/simulated.yaml: default support_reply; json_extraction tries gemini second
        "switchyard/auto": "support_reply", "support_reply": "support_reply",
        "switchyard/contract_clause_summary": "contract_clause_summary", "json_extraction": "json_extraction",
        "gpt-4o": "support_reply",  # first everywhere: tie -> default route
        "claude-3-5-sonnet": "support_reply",  # position 2 in support_reply and contract: tie -> default
        "gemini-2.0-flash": "json_extraction",  # position 2 there, 3 elsewhere: earliest wins
        "gemini/gemini-2.0-flash@us-central": "json_extraction", "anthropic/claude-3-5-sonnet": "support_reply",
    }
    results = await asyncio.gather(*(gw_open.http.post("/v1/chat/completions", json=chat(model=m)) for m in cases))
    assert {m: r.headers["x-switchyard-route"] for m, r in zip(cases, results, strict=True)} == cases
    # concurrent requests start in no defined order (each is planned first): compare as multisets
    assert sorted(i.task_type or "" for i in gw_open.started) == sorted(cases.values())
    assert gw_open.eager == [True] * len(cases)  # eager start: the first workflow task ran in this process
    # an explicit task type (header, then metadata) wins over the model field
    r = await gw_open.http.post("/v1/chat/completions", json=chat(model="gemini-2.0-flash"),
                                headers={"x-switchyard-task-type": "contract_clause_summary"})
    assert r.headers["x-switchyard-route"] == "contract_clause_summary"
    r = await gw_open.http.post("/v1/chat/completions",
                                json=chat(model="whatever", metadata={"task_type": "json_extraction"}))
    assert r.headers["x-switchyard-route"] == "json_extraction"


async def test_models_lists_every_accepted_value_with_its_route(gw_open) -> None:
    r = await gw_open.http.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    routes = {m["id"]: m["switchyard_route"] for m in body["data"]}
    assert routes["switchyard/auto"] == "support_reply" and routes["gemini-2.0-flash"] == "json_extraction"
    assert {"support_reply", "openai/gpt-4o", PRIMARY, "local-llama-3.1-8b"} <= set(routes)
    assert "claude-sonnet-4" not in routes  # configured but in no chain
    assert all(m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in body["data"])
    one = (await gw_open.http.get("/v1/models/openai/gpt-4o@us-east")).json()
    assert one["id"] == PRIMARY and one["owned_by"] == "openai"


async def test_response_is_openai_shaped_with_the_served_model_and_trace_headers(gw_open, engine) -> None:
    await gw_open.fault(PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    r = await gw_open.http.post("/v1/chat/completions", json=chat(model="switchyard/auto"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o"  # served by the eu-west deployment
    assert body["id"].startswith("chatcmpl") and isinstance(body["created"], int)
    assert body["choices"][0]["message"]["role"] == "assistant" and body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert "estimated" not in body["usage"] and body["usage"]["total_tokens"] > 0
    h = r.headers
    assert h["x-request-id"] == h["x-switchyard-workflow-id"] and h["x-request-id"].startswith("req-")
    assert h["x-switchyard-target"] == SECOND and h["x-switchyard-failovers"] == "1"
    assert h["x-switchyard-attempts"] == "3"  # primary twice (route retries 1), then eu-west
    assert float(h["x-switchyard-cost-usd"]) > 0 and float(h["x-switchyard-overhead-ms"]) >= 0
    rows = await OutcomeStore(engine).for_workflow(h["x-request-id"])
    assert [row.target for row in rows] == [PRIMARY, PRIMARY, SECOND]


async def test_idempotency_key_attaches_retries_to_one_execution_and_one_provider_call(gw_open, engine) -> None:
    headers = {"idempotency-key": "refill-NW-48213"}
    a, b = await asyncio.gather(gw_open.http.post("/v1/chat/completions", json=chat(), headers=headers),
                                gw_open.http.post("/v1/chat/completions", json=chat(), headers=headers))
    c = await gw_open.http.post("/v1/chat/completions", json=chat(), headers=headers)
    assert [r.status_code for r in (a, b, c)] == [200, 200, 200]
    ids = {r.headers["x-request-id"] for r in (a, b, c)}
    assert ids == {"req-default-refill-NW-48213"}
    assert a.json()["id"] == b.json()["id"] == c.json()["id"]
    assert len(await OutcomeStore(engine).for_workflow(ids.pop())) == 1  # the provider was called once
    other = await gw_open.http.post("/v1/chat/completions", json=chat(),
                                    headers={**headers, "x-switchyard-tenant": "globex"})  # scoped by tenant
    assert other.headers["x-request-id"] == "req-globex-refill-NW-48213" and other.json()["id"] != a.json()["id"]


async def test_a_failed_keyed_request_runs_again_when_retried(gw_open, engine) -> None:
    await gw_open.fault("*", error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    headers = {"idempotency-key": "contract-881"}
    first = await gw_open.http.post("/v1/chat/completions", json=chat(), headers=headers)
    assert first.status_code == 503
    await gw_open.fault("*", reset=True)
    again = await gw_open.http.post("/v1/chat/completions", json=chat(), headers=headers)
    wf_id = again.headers["x-request-id"]
    assert again.status_code == 200 and wf_id == first.headers["x-request-id"]
    calls = len(await OutcomeStore(engine).for_workflow(wf_id))
    third = await gw_open.http.post("/v1/chat/completions", json=chat(), headers=headers)
    assert third.json()["id"] == again.json()["id"]
    assert len(await OutcomeStore(engine).for_workflow(wf_id)) == calls  # answered: reused, not paid again


async def test_stream_is_well_formed_sse_with_usage_chunk_and_done(gw_open) -> None:
    r = await gw_open.http.post("/v1/chat/completions",
                                json=chat(stream=True, stream_options={"include_usage": True}))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-request-id"].startswith("req-")
    events = [line[6:] for block in r.text.split("\n\n") for line in block.split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert text
    started = gw_open.started[0].request  # the workflow streams upstream; stream_options stay the gateway's
    assert started.stream is True and started.stream_options is None


async def test_health_and_readiness(gw_open) -> None:
    assert (await gw_open.http.get("/healthz")).json() == {"status": "ok"}
    r = await gw_open.http.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "checks": {"temporal": "ok", "worker": "ok",
                                                                               "database": "ok"}}
    schema = (await gw_open.http.get("/openapi.json")).json()
    assert "/v1/chat/completions" in schema["paths"] and "ChatRequest" in schema["components"]["schemas"]
