"""More production failure cases of issue 3 on the real request path (dev server, worker, database,
simulator): content filtering and its fallback, a 200 whose body is an error, the caller's deadline
against the target's own timeout, a long Retry-After in a Gemini body, an answer larger than
Temporal's payload limit, and translation notes reaching the routing trace."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.failure_support import (
    CLAUDE,
    EU,
    GEMINI,
    US,
    ask,
    calls,
    clear_cooldowns,
    config,
    control,
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


FILTER_400 = {"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                        "management policy.", "type": None, "param": "prompt", "code": "content_filter"}}
FILTER_200 = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason":
                           "content_filter"}], "usage": {"prompt_tokens": 9, "completion_tokens": 0, "total_tokens": 9}}


@pytest.mark.parametrize(("status", "body"), [(400, FILTER_400), (200, FILTER_200)], ids=["400-code", "200-null"])
async def test_content_filter_goes_to_the_content_policy_fallback_without_cooling(
        temporal_env, db_url, engine, sim, status: int, body: Any) -> None:
    await fault(sim, US, status, body)
    cfg = config(sim, {"r": {"chain": ["openai/gpt-4o", CLAUDE], "content_policy_fallback": [GEMINI]}})
    async with worker(temporal_env.client, cfg, db_url) as sy:
        res = await sy.submit(ask())
    assert tried(res.trace) == [(US, 1, "ContentFiltered"), (GEMINI, 1, None)] and res.response.text()
    assert any("content-policy fallback" in n for n in res.trace.notes)
    counted = await calls(sim)
    assert counted[US] == 1 and counted[EU] == 0 and counted[CLAUDE] == 0      # the ordinary chain is not walked
    assert [r.counts_against_health for r in await rows(engine, res.workflow_id)] == [False, False]
    assert await cooled(engine) == {}


async def test_content_filter_without_a_fallback_is_a_distinct_error(temporal_env, db_url, engine, sim) -> None:
    await fault(sim, US, 200, FILTER_200)
    async with worker(temporal_env.client, config(sim, {"r": {"chain": ["openai/gpt-4o", CLAUDE]}}), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask())
    f = e.value.failure
    assert (f.error_class, f.status, f.trace.failovers) == ("ContentFiltered", 400, 0)
    assert tried(f.trace) == [(US, 1, "ContentFiltered")] and await cooled(engine) == {}


@pytest.mark.parametrize(("status", "body"), [
    (200, {"error": {"code": 429, "message": "Rate limit exceeded"}, "choices": []}),
    (200, {"error": {"code": 429, "message": "Rate limit exceeded"}}),
    (429, None),
], ids=["200-error-empty-choices", "200-error", "real-429"])
async def test_a_200_error_body_is_handled_exactly_like_that_error(
        temporal_env, db_url, engine, sim, status: int, body: Any) -> None:
    await fault(sim, US, status, body, headers={"retry-after": "1"})
    async with worker(temporal_env.client, config(sim, {"r": {"chain": [US, EU]}}), db_url) as sy:
        res = await sy.submit(ask())
    assert tried(res.trace) == [(US, 1, "RateLimited"), (US, 2, "RateLimited"), (EU, 1, None)]
    assert [a.retry_after_s for a in res.trace.attempts[:2]] == [1.0, 1.0]
    assert [(r.status_class, r.counts_against_health) for r in await rows(engine, res.workflow_id)] == [
        ("RateLimited", False), ("RateLimited", False), ("ok", False)]


async def test_the_callers_short_deadline_does_not_count_against_the_target(temporal_env, db_url, engine,
                                                                             sim) -> None:
    await control(sim, "apply", {"target": US, "set": {"hang_share": 1.0}})
    async with worker(temporal_env.client, config(sim, {"r": {"chain": [US, EU]}}), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(ask(deadline_s=1.0))
    f = e.value.failure
    assert (f.error_class, f.status) == ("CallerDeadline", 504) and tried(f.trace) == [(US, 1, "CallerDeadline")]
    assert [(r.status_class, r.counts_against_health) for r in await rows(engine, e.value.workflow_id)] == [
        ("CallerDeadline", False)]
    assert await cooled(engine) == {} and (await calls(sim))[EU] == 0


async def test_the_targets_own_timeout_counts_against_it_and_fails_over(temporal_env, db_url, engine, sim) -> None:
    await control(sim, "apply", {"target": US, "set": {"hang_share": 1.0}})
    cfg = config(sim, {"r": {"chain": [US, EU]}}, **{US: {"timeout_s": 1.0}})
    async with worker(temporal_env.client, cfg, db_url) as sy:
        res = await sy.submit(ask())
    assert tried(res.trace) == [(US, 1, "Timeout"), (EU, 1, None)]
    assert [(r.status_class, r.counts_against_health) for r in await rows(engine, res.workflow_id)] == [
        ("Timeout", True), ("ok", False)]


GEMINI_RATE = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Resource has been exhausted",
                         "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                             {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]},
                             {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}]}}


async def test_long_retry_after_in_a_gemini_body_cools_down_and_fails_over_at_once(temporal_env, db_url, engine,
                                                                                   sim) -> None:
    await fault(sim, GEMINI, 429, GEMINI_RATE)
    async with worker(temporal_env.client, config(sim, {"r": {"chain": [GEMINI, US], "retries": 3}}), db_url) as sy:
        started = time.time()
        res = await sy.submit(ask())
    assert tried(res.trace) == [(GEMINI, 1, "RateLimited"), (US, 1, None)]
    assert res.trace.attempts[0].retry_after_s == 47.0 and (await calls(sim))[GEMINI] == 1
    assert (await cooled(engine))[GEMINI] == pytest.approx(started + 47, abs=5)


@pytest.mark.parametrize("durable", [False, True], ids=["local-activity", "regular-activity"])
async def test_an_answer_over_temporals_payload_limit_is_passed_by_reference(temporal_env, db_url, engine, sim,
                                                                            durable: bool) -> None:
    """About 2.4 MB of answer (Temporal rejects payloads over 2 MB) with the default inline limit."""
    await control(sim, "apply", {"target": US, "set": {"output_tokens": {"median": 600_000, "p99": 600_000}}})
    inp = ask(durable_attempts=durable)
    inp.request.max_tokens = None
    async with worker(temporal_env.client, config(sim, {"r": {"chain": [US]}}), db_url) as sy:
        handle = await sy.start(inp)
        raw = await handle.result()
        res = await sy.result(handle)
    assert raw.response is None and raw.response_ref.startswith("pl-")
    assert len(res.response.text()) > 2_000_000 and (await calls(sim))[US] == 1


async def test_translation_notes_reach_the_routing_trace(temporal_env, db_url, sim) -> None:
    request = {"seed": 7, "n": 2, "temperature": 1.5, "logit_bias": {"50256": -100}}
    async with worker(temporal_env.client, config(sim, {"r": {"chain": [CLAUDE]}}), db_url) as sy:
        res = await sy.submit(ask(request=request))
    notes = res.trace.notes
    assert "anthropic: dropped logit_bias, seed (not supported)" in notes
    assert "anthropic: n=2 not supported; one choice returned" in notes
    assert "anthropic: temperature 1.5 clamped to 1 (Anthropic range 0..1)" in notes
