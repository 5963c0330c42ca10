"""Head starts (``activities/head_start.py``): the gateway begins the first call while the workflow
starts; the first attempt adopts it. One provider call per request, the attempt in history with the
answer the caller got, one outcome row keyed by the run id, a failed head start fails over as any
first try does, and an attempt in another process adopts the try from its journal."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ApplicationError

from activities.head_start import adopt, failure_journal, from_journal
from activities.storage.outcomes import OutcomeRow, OutcomeStore
from core.attempt import AttemptInput, AttemptResult
from core.chat import ChatRequest
from core.request import RequestResult
from tests.gateway.conftest import PRIMARY, chat, gateway_under_test
from tests.integration.test_replay import replayer


async def _closed(gw, wf_id: str):
    handle = gw.gw.sy.client.get_workflow_handle(wf_id, result_type=RequestResult)
    result = await handle.result()
    return result, await handle.fetch_history(), (await handle.describe()).run_id


async def test_head_started_request_calls_the_provider_once_and_records_the_attempt(gw_open, engine) -> None:
    before = gw_open.sim_calls(PRIMARY)
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    assert r.status_code == 200, r.text
    wf_id = r.headers["x-request-id"]
    assert gw_open.started[-1].plan is not None and gw_open.started[-1].plan.head_start  # in the input
    result, history, run_id = await _closed(gw_open, wf_id)
    assert gw_open.sim_calls(PRIMARY) - before == 1  # the gateway's try was adopted, not repeated
    assert result.response is not None and result.response.text() == r.json()["choices"][0]["message"]["content"]
    rows = await OutcomeStore(engine).for_workflow(wf_id)
    assert [(x.run_id, x.seq, x.try_no, x.status_class) for x in rows] == [(run_id, 1, 1, "ok")]
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == 1  # the adopted attempt is in history like any other
    replay = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None


async def test_head_start_off_in_config_calls_from_the_workflow(temporal_env, db_url, sim, engine) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url, head_start=False) as gw:
        r = await gw.http.post("/v1/chat/completions", json=chat())
        assert r.status_code == 200, r.text
        assert gw.started[-1].plan is not None and not gw.started[-1].plan.head_start
        rows = await OutcomeStore(engine).for_workflow(r.headers["x-request-id"])
        assert [(x.seq, x.try_no, x.status_class) for x in rows] == [(1, 1, "ok")]


async def test_failed_head_start_fails_over_with_every_try_recorded(gw_open, engine) -> None:
    await gw_open.fault(PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    assert r.status_code == 200 and r.headers["x-switchyard-failovers"] == "1"
    wf_id = r.headers["x-request-id"]
    _, _, run_id = await _closed(gw_open, wf_id)
    rows = await OutcomeStore(engine).for_workflow(wf_id)
    assert rows[0].target == PRIMARY and rows[0].status_class != "ok" and rows[-1].status_class == "ok"
    assert {x.run_id for x in rows} == {run_id}  # the head start's row waited for the run id
    assert len({(x.seq, x.try_no) for x in rows}) == len(rows)  # each try once
    with pytest.raises(ApplicationError) as got:  # the try's failure, journaled for an adopter elsewhere
        from_journal(await OutcomeStore(engine).journaled(run_id, 1, 1) or b"")
    assert got.value.type == rows[0].status_class


def _input(run_id: str) -> AttemptInput:
    return AttemptInput(workflow_id="wf-head", run_id=run_id, seq=1, target=PRIMARY, task_type="support_reply",
                        request=ChatRequest.model_validate({"model": "gpt-4o", "messages": [
                            {"role": "user", "content": "hi"}]}), timeout_s=0.3, caller_budget_s=0.3,
                        head_start=True)


async def test_an_attempt_elsewhere_adopts_the_journal_or_calls_when_none_comes(engine) -> None:
    outcomes = OutcomeStore(engine)
    answer = AttemptResult.model_validate({
        "target": PRIMARY, "latency_ms": 3.0, "try_no": 1, "cost_usd": 0.0001, "response_bytes": 10,
        "response": {"id": "chatcmpl-1", "model": "gpt-4o", "created": 1, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Ships today."}, "finish_reason": "stop"}]}})
    row = OutcomeRow(workflow_id="wf-head", run_id="run-a", seq=1, try_no=1, target=PRIMARY, provider="openai",
                     model="gpt-4o", region="us-east", task_type="support_reply", tenant="default", status_class="ok",
                     latency_ms=3.0, created_at=1.0)

    async def journal_later() -> None:  # the gateway's try, in another process, ends after the adopter waits
        await asyncio.sleep(0.1)
        await outcomes.record(row, answer.model_dump_json().encode())
    writer = asyncio.create_task(journal_later())
    got = await adopt(None, outcomes.journaled, _input("run-a"))
    await writer
    assert got is not None and got.response == answer.response and got.notes[-1].startswith("head start")

    failed = ApplicationError("openai/gpt-4o@us-east: ServerError 503: down", {"target": PRIMARY},
                              type="ServerError", non_retryable=False, next_retry_delay=timedelta(seconds=2))
    await outcomes.record(row.model_copy(update={"run_id": "run-b", "status_class": "ServerError"}),
                          failure_journal(failed))
    with pytest.raises(ApplicationError) as raised:
        await adopt(None, outcomes.journaled, _input("run-b"))
    assert (raised.value.type, raised.value.non_retryable, raised.value.next_retry_delay) == (
        "ServerError", False, timedelta(seconds=2)) and raised.value.details == ({"target": PRIMARY},)

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await adopt(None, outcomes.journaled, _input("run-c"), poll_s=0.05) is None  # nothing came: call
    assert loop.time() - t0 >= 0.3  # it waited the target's timeout (0.3 s) plus the margin first
