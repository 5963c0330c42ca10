"""Errors in OpenAI's shape with statuses SDKs handle right; bad input never reaches a workflow.

In process through ``httpx.ASGITransport`` against a real worker, dev server, database and the
simulator: the caller's own 4xx passes through, every-target-failed is a 503 with Retry-After and
the attempts, all-rate-limited is a 429 with Retry-After.
"""

from __future__ import annotations

import pytest

from activities.storage.outcomes import OutcomeStore
from tests.gateway.conftest import PRIMARY, chat, gateway_under_test
from tests.gateway.test_auth import assert_openai_error

BAD_BODIES = [
    (b"{not json", 400, None, "could not parse the JSON"),
    (b"", 400, None, "empty"),
    (b"[1, 2]", 400, None, "JSON object"),
    (b'"hello"', 400, None, "JSON object"),
    (b'{"model": "gpt-4o"}', 400, "messages", "messages"),
    (b'{"model": "gpt-4o", "messages": []}', 400, "messages", "at least 1"),
    (b'{"model": "gpt-4o", "messages": "hi"}', 400, "messages", "messages"),
    (b'{"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]}', 400, "messages[0].role", "role"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', 400,
     "temperature", "temperature"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": "1"}', 400,
     "temperature", "temperature"),  # strict: no string-to-number coercion
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": 7}', 400,
     "temperature", "less than or equal to 2"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}', 400,
     "max_tokens", "max_tokens"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "metadata": {"tenant": 5}}', 400,
     "metadata.tenant", "metadata.tenant"),
    (b'{"model": 42, "messages": [{"role": "user", "content": "x"}]}', 400, "model", "model"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": 5}]}', 400, "messages[0].content",
     "messages[0].content"),  # the field as written, no pydantic union tags
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": null}]}', 400, "messages[0].content",
     "needs content"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": null}]}',
     400, "messages[1].content", "tool_calls"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "metadata": {"priority": "urgent"}}', 400,
     "metadata.priority", "priority"),
]


@pytest.mark.parametrize(("body", "status", "param", "fragment"), BAD_BODIES)
async def test_invalid_bodies_are_400_naming_the_field(gw_open, body, status, param, fragment) -> None:
    r = await gw_open.http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    err = assert_openai_error(r, status)
    assert err["type"] == "invalid_request_error" and err["param"] == param
    assert fragment.lower() in err["message"].lower()
    assert gw_open.started == [] and gw_open.sim_calls() == 0


async def test_routing_and_header_mistakes_are_4xx_before_any_workflow(gw_open) -> None:
    post = gw_open.http.post
    err = assert_openai_error(await post("/v1/chat/completions", json=chat(model="gpt-7")), 404, "model_not_found")
    assert "gpt-7" in err["message"] and err["param"] == "model"
    # a target no route's chain uses is not served either
    assert_openai_error(await post("/v1/chat/completions", json=chat(model="claude-sonnet-4")), 404, "model_not_found")
    err = assert_openai_error(await post("/v1/chat/completions", json=chat(),
                                         headers={"x-switchyard-task-type": "poetry"}), 400, "unknown_task_type")
    assert "support_reply" in err["message"]
    assert_openai_error(await post("/v1/chat/completions", json=chat(metadata={"task_type": "poetry"})), 400)
    for bad in ("0", "6", "urgent", "1.5", "²".encode()):  # names: critical|high|normal|low|batch
        err = assert_openai_error(await post("/v1/chat/completions", json=chat(),
                                             headers={"x-switchyard-priority": bad}), 400)
        assert err["param"] == "x-switchyard-priority"
    assert_openai_error(await post("/v1/chat/completions", json=chat(), headers={"idempotency-key": "k" * 201}), 400)
    err = assert_openai_error(await post("/v1/chat/completions", json=chat(stream_options={"include_usage": True})),
                              400)
    assert err["param"] == "stream_options"
    assert_openai_error(await gw_open.http.get("/v1/chat/completions"), 405)
    assert_openai_error(await gw_open.http.post("/v1/completions", json=chat()), 404)
    assert_openai_error(await gw_open.http.get("/v1/models/gpt-7"), 404, "model_not_found")
    assert gw_open.started == [] and gw_open.sim_calls() == 0


async def test_body_over_the_limit_is_413_whether_declared_or_streamed(temporal_env, db_url, sim) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url, max_body_bytes=4096) as gut:
        big = chat(messages=[{"role": "user", "content": "x" * 5000}])
        err = assert_openai_error(await gut.http.post("/v1/chat/completions", json=big), 413, "request_too_large")
        assert "4096" in err["message"]

        async def chunks():
            for _ in range(10):
                yield b" " * 1000  # no Content-Length: the cap applies to the bytes received
        r = await gut.http.post("/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"})
        assert_openai_error(r, 413, "request_too_large")
        assert (await gut.http.post("/v1/chat/completions", json=chat())).status_code == 200
        assert len(gut.started) == 1


async def test_the_callers_own_400_passes_through_with_the_provider_message(gw_open, engine) -> None:
    body = {"error": {"message": "Invalid value for 'temperature': must be <= 2.", "type": "invalid_request_error",
                      "param": "temperature", "code": "invalid_value"}}
    await gw_open.fault(PRIMARY, error_rate=1.0, errors=[{"status": 400, "share": 1.0, "body": body}])
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    err = assert_openai_error(r, 400, "invalid_request")
    assert "Invalid value for 'temperature'" in err["message"]
    assert r.headers["x-switchyard-failovers"] == "0" and r.headers["x-request-id"].startswith("req-")
    assert "retry-after" not in r.headers
    rows = await OutcomeStore(engine).for_workflow(r.headers["x-request-id"])
    assert [(row.target, row.http_status) for row in rows] == [(PRIMARY, 400)]  # no failover, no retry


async def test_every_target_failing_is_503_with_retry_after_and_the_attempts(gw_open) -> None:
    await gw_open.fault("*", error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    err = assert_openai_error(r, 503, "all_targets_failed")
    assert err["type"] == "server_error"
    assert int(r.headers["retry-after"]) >= 1 and int(r.headers["retry-after-ms"]) >= 1000
    for target in ("openai/gpt-4o@us-east", "openai/gpt-4o@eu-west", "anthropic/claude-3-5-sonnet@us-east",
                   "gemini/gemini-2.0-flash@us-central", "openai/local-llama-3.1-8b@local"):
        assert target in err["message"]
    assert int(r.headers["x-switchyard-failovers"]) >= 4  # every target left after it failed
    assert "x-switchyard-target" not in r.headers


async def test_every_target_rate_limited_is_429_with_retry_after(gw_open) -> None:
    await gw_open.fault("*", error_rate=1.0, errors=[{"status": 429, "share": 1.0, "headers": {"retry-after": "40"}}])
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    err = assert_openai_error(r, 429, "rate_limit_exceeded")
    assert err["type"] == "rate_limit_error"
    assert 30 <= int(r.headers["retry-after"]) <= 41
