"""The production failure cases of issue 3 ("Error classification"), each on the real request path:
Temporal dev server, worker, database and the simulator over loopback. Every failure is a real HTTP
exchange in the provider's own wire format; call counts come from the simulator (``/_sim/stats``),
health accounting from the outcome rows, cooldowns from the database."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.failure_support import (
    CLAUDE,
    EU,
    GEMINI,
    LOCAL,
    US,
    ask,
    calls,
    clear_cooldowns,
    config,
    cooled,
    fast_simulator,
    fault,
    rows,
    tried,
    worker,
)
from worker.submit import RequestFailed


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[Any]:
    async with fast_simulator(tmp_path) as running:
        yield running


@pytest.fixture(autouse=True)
async def no_cooldowns(engine) -> None:
    await clear_cooldowns(engine)


def openai_error(message: str, code: str | None = None, type_: str = "invalid_request_error",
                 param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


async def test_one_retry_layer_every_500_means_exactly_six_calls(temporal_env, db_url, engine, sim) -> None:
    """1 attempt + 5 retries configured: the upstream sees exactly 6 calls (no client-side retries).
    ``retry-after-ms: 20`` only shortens the same-target backoff so the test is quick."""
    cfg = config(sim, {"single": {"chain": [US], "retries": 5}})
    await fault(sim, US, 500, headers={"retry-after-ms": "20"})
    async with worker(temporal_env.client, cfg, db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask())
    assert (await calls(sim))[US] == 6
    f = e.value.failure
    assert tried(f.trace) == [(US, n, "ServerError") for n in range(1, 7)]
    got = await rows(engine, e.value.workflow_id)
    assert [(r.try_no, r.http_status, r.counts_against_health) for r in got] == [(n, 500, True) for n in range(1, 7)]


TRUNCATED_ARGS = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Par'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    {"role": "user", "content": "And tomorrow?"}]


async def test_local_failure_is_a_400_before_any_call_with_no_circuit(temporal_env, db_url, engine, sim) -> None:
    """Truncated tool-call JSON must be parsed for Anthropic and Gemini: LocalInvalidRequest, nothing
    sent, nothing counted against the target, no cooldown, no second visit."""
    cfg = config(sim, {"translated": {"chain": ["anthropic/claude-3-5-sonnet", "gemini/gemini-2.0-flash"],
                                      "retries": 3}})
    async with worker(temporal_env.client, cfg, db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask(messages=TRUNCATED_ARGS))
    f = e.value.failure
    assert (f.error_class, f.status) == ("LocalInvalidRequest", 400) and "not valid JSON" in f.message
    assert tried(f.trace) == [(CLAUDE, 1, "LocalInvalidRequest")] and f.trace.failovers == 0
    assert (await calls(sim))[CLAUDE] == 0 and (await calls(sim))[GEMINI] == 0
    assert [(r.status_class, r.counts_against_health) for r in await rows(engine, e.value.workflow_id)] == [
        ("LocalInvalidRequest", False)]
    assert await cooled(engine) == {}


CREDIT = {"type": "error", "error": {"type": "invalid_request_error", "message": "Your credit balance is too low to "
                                     "access the Anthropic API. Please go to Plans & Billing to upgrade or purchase "
                                     "credits."}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}


@pytest.mark.parametrize(("chain", "broken", "status", "body", "cls"), [
    ([US, GEMINI], US, 404, None, "ModelNotFound"),                         # the simulator's model_not_found body
    ([CLAUDE, GEMINI], CLAUDE, 400, CREDIT, "QuotaExhausted"),
])
async def test_provider_state_failures_fail_over_and_count_against_health(
        temporal_env, db_url, engine, sim, chain: list[str], broken: str, status: int, body: Any, cls: str) -> None:
    await fault(sim, broken, status, body)
    async with worker(temporal_env.client, config(sim, {"r": {"chain": chain}}), db_url) as sy:
        started = time.time()
        res = await sy.submit(ask())
    assert res.trace.target_used == GEMINI and tried(res.trace) == [(broken, 1, cls), (GEMINI, 1, None)]
    assert [(r.target, r.status_class, r.counts_against_health) for r in await rows(engine, res.workflow_id)] == [
        (broken, cls, True), (GEMINI, "ok", False)]
    assert (await cooled(engine))[broken] > started + 600               # long cooldown: it does not heal itself
    assert (await calls(sim))[broken] == 1                             # never retried on the same target


@pytest.mark.parametrize("body", [
    openai_error("Invalid schema for function 'get_weather': In context=('properties', 'city'), 'type' is "
                 "required.", "invalid_function_parameters", param="tools[0].function.parameters"),
    openai_error("Invalid value: 'userr'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool',"
                 " and 'developer'.", "invalid_value", param="messages[1].role"),
])
async def test_malformed_request_stops_at_once_and_counts_against_nothing(
        temporal_env, db_url, engine, sim, body: Any) -> None:
    await fault(sim, US, 400, body)
    async with worker(temporal_env.client, config(sim, {"r": {"chain": [US, EU, GEMINI]}}), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask())
    f = e.value.failure
    assert (f.error_class, f.status, f.trace.failovers) == ("InvalidRequest", 400, 0)
    assert f.message == body["error"]["message"] and tried(f.trace) == [(US, 1, "InvalidRequest")]
    assert [(r.status_class, r.counts_against_health) for r in await rows(engine, e.value.workflow_id)] == [
        ("InvalidRequest", False)]
    assert await cooled(engine) == {} and (await calls(sim))[US] == 1


CONTEXT_WORDINGS = [
    pytest.param(US, 400, openai_error("This model's maximum context length is 128000 tokens. However, your "
                                       "messages resulted in 130000 tokens.", "context_length_exceeded"), id="code"),
    pytest.param(US, 400, {"object": "error", "message": "This model's maximum context length is 32768 tokens. "
                           "However, you requested 33077 tokens (32077 in the messages, 1000 in the completion).",
                           "type": "BadRequestError", "param": None, "code": 400}, id="vllm"),
    pytest.param(US, 400, openai_error("The input (5012 tokens) is longer than the model's context length (4096 "
                                       "tokens)."), id="input-longer"),
    pytest.param(US, 400, openai_error("prompt token count of 125516 exceeds the limit of 64000",
                                       "model_max_prompt_tokens_exceeded"), id="prompt-token-count"),
    pytest.param(US, 200, {"error": {"code": 400, "message": "the request exceeds the available context size, "
                                     "try increasing it", "type": "exceed_context_size_error"}}, id="200-body"),
    pytest.param(CLAUDE, 400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                                                          "prompt is too long: 208310 tokens > 200000 maximum"}},
                 id="anthropic"),
]


@pytest.mark.parametrize(("broken", "status", "body"), CONTEXT_WORDINGS)
async def test_context_length_goes_to_a_larger_window_never_the_same(
        temporal_env, db_url, engine, sim, broken: str, status: int, body: Any) -> None:
    """gpt-4o (128k, two regions) -> claude (200k) -> gemini (1M): after gpt-4o overflows, the other
    128k region is never tried and claude answers; claude -> gpt-4o -> gemini: after claude
    overflows, both smaller gpt-4o regions are dropped and gemini answers. The overflowing target
    is called once although the route allows 3 retries."""
    await fault(sim, broken, status, body)
    models = ["openai/gpt-4o", "anthropic/claude-3-5-sonnet", "gemini/gemini-2.0-flash"]
    chain = models if broken == US else [models[1], models[0], models[2]]
    async with worker(temporal_env.client, config(sim, {"r": {"chain": chain, "retries": 3}}), db_url) as sy:
        res = await sy.submit(ask())
    after = {US: CLAUDE, CLAUDE: GEMINI}[broken]
    assert tried(res.trace) == [(broken, 1, "ContextLengthExceeded"), (after, 1, None)]
    counted = await calls(sim)
    assert counted[broken] == 1 and counted[EU] == 0 and (broken == US or counted[US] == 0)
    assert any("context length exceeded" in n for n in res.trace.notes)
    assert [r.counts_against_health for r in await rows(engine, res.workflow_id)] == [False, False]


async def test_context_length_with_no_larger_window_is_the_callers_error(temporal_env, db_url, sim) -> None:
    await fault(sim, GEMINI, 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": (
        "The input token count (1196265) exceeds the maximum number of tokens allowed (1048575).")}})
    async with worker(temporal_env.client, config(sim, {"r": {"chain": [GEMINI, US, CLAUDE]}}), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask())
    f = e.value.failure
    assert (f.error_class, f.status) == ("ContextLengthExceeded", 400) and tried(f.trace) == [
        (GEMINI, 1, "ContextLengthExceeded")]


async def test_small_window_skipped_before_dispatch_and_429s_give_a_429_at_the_earliest_reset(
        temporal_env, db_url, engine, sim) -> None:
    """A ~10k-token prompt never reaches the 8k local model (the plan says why); when every other
    target is rate limited the caller gets a 429 whose Retry-After is the earliest cooldown end."""
    for target, wait in ((US, 45), (EU, 30), (CLAUDE, 60)):
        await fault(sim, target, 429, headers={"retry-after": str(wait)})
    chain = ["openai/gpt-4o", "anthropic/claude-3-5-sonnet", "openai/local-llama-3.1-8b"]
    async with worker(temporal_env.client, config(sim, {"r": {"chain": chain}}), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask("Summarise this contract. " + "Clause text follows. " * 2000))
    f = e.value.failure
    assert (f.error_class, f.status) == ("RateLimited", 429)
    assert f.retry_after_s == pytest.approx(30, abs=3)
    assert LOCAL not in f.trace.plan and "context window 8192 < estimated prompt + max tokens" in f.trace.skipped[LOCAL]
    assert tried(f.trace) == [(US, 1, "RateLimited"), (EU, 1, "RateLimited"), (CLAUDE, 1, "RateLimited")]
    assert (await calls(sim))[LOCAL] == 0
    assert set(await cooled(engine)) == {US, EU, CLAUDE}
