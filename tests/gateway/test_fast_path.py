"""The gateway's fast path keeps every durability property (``docs/PERFORMANCE.md``).

Planned in the gateway (the plan is the workflow's input, no planning marker), answered early
from the first attempt's journaled result, the workflow still closes with the same answer, one
outcome row and the attempt in history; a recovering first attempt returns the journaled answer
without calling the provider; recorded histories of the planned path replay; group-committed
outcome writes land exactly once.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import ActivityEnvironment

from activities.attempt import AttemptActivities
from activities.storage.cooldowns import CooldownStore
from activities.storage.outcomes import OutcomeRow, OutcomeStore
from activities.storage.payloads import PayloadStore
from core.attempt import AttemptInput, AttemptResult
from core.chat import ChatRequest
from core.request import RequestResult
from tests.configs import sim_config
from tests.gateway.conftest import PRIMARY, chat
from tests.integration.test_replay import replayer
from worker.config_loader import ConfigHolder


async def _closed(gw, wf_id: str) -> tuple[RequestResult, WorkflowHistory, str]:
    """The closed workflow's result, history and run id."""
    handle = gw.gw.sy.client.get_workflow_handle(wf_id, result_type=RequestResult)
    result = await handle.result()
    return result, await handle.fetch_history(), (await handle.describe()).run_id


async def test_planned_early_answer_is_the_recorded_answer(gw_open, engine) -> None:
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    assert r.status_code == 200, r.text
    wf_id = r.headers["x-request-id"]
    assert r.headers["x-switchyard-target"] == PRIMARY and r.headers["x-switchyard-attempts"] == "1"
    started = gw_open.started[-1]
    assert started.plan is not None and started.plan.entries[0].target == PRIMARY  # planned before the start
    result, history, run_id = await _closed(gw_open, wf_id)
    assert result.response is not None and result.response.text() == r.json()["choices"][0]["message"]["content"]
    assert result.trace.target_used == PRIMARY and result.trace.plan == [e.target for e in started.plan.entries]
    markers = [e.marker_recorded_event_attributes.marker_name for e in history.events
               if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == 1  # the attempt only: no planning marker
    rows = await OutcomeStore(engine).for_workflow(wf_id)
    assert [(x.seq, x.try_no, x.status_class) for x in rows] == [(1, 1, "ok")]  # exactly one outcome row
    journaled = await OutcomeStore(engine).journaled(run_id, 1, 1)
    assert journaled is not None  # the reply left after the answer was journaled with its row
    assert AttemptResult.model_validate_json(journaled).response == result.response
    replay = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert replay.replay_failure is None


async def test_failover_answers_from_the_workflow_not_early(gw_open, engine) -> None:
    await gw_open.fault(PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    assert r.status_code == 200 and r.headers["x-switchyard-failovers"] == "1"
    rows = await OutcomeStore(engine).for_workflow(r.headers["x-request-id"])
    assert rows[0].target == PRIMARY and rows[0].status_class != "ok" and rows[-1].status_class == "ok"
    _, _, run_id = await _closed(gw_open, r.headers["x-request-id"])
    assert await OutcomeStore(engine).journaled(run_id, 2, 1) is None  # no early reply: nothing journaled


async def test_recovering_first_attempt_returns_the_journaled_answer_without_a_call(engine, db_url) -> None:
    """A worker died after the early reply, before the workflow task completed: the re-run of the
    first attempt returns the answer the caller received; the provider is not called again."""
    cfg = sim_config("http://127.0.0.1:9")  # nothing listens: a provider call would fail
    outcomes = OutcomeStore(engine)
    answer = AttemptResult.model_validate({
        "target": PRIMARY, "latency_ms": 3.0, "try_no": 1, "cost_usd": 0.0001, "response_bytes": 10,
        "response": {"id": "chatcmpl-1", "model": "gpt-4o", "created": 1, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Your order ships today."},
             "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}})
    row = OutcomeRow(workflow_id="req-recover", run_id="run-recover", seq=1, try_no=1, target=PRIMARY,
                     provider="openai", model="gpt-4o", region="us-east", task_type="support_reply",
                     tenant="default", status_class="ok", latency_ms=3.0, created_at=1.0)
    await outcomes.record(row, answer.model_dump_json().encode())
    async with httpx.AsyncClient() as http:
        acts = AttemptActivities(ConfigHolder.fixed(cfg), http, outcomes, CooldownStore(engine), PayloadStore(engine))
        inp = AttemptInput(workflow_id="req-recover", run_id="run-recover", seq=1, target=PRIMARY,
                           request=ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]}),
                           task_type="support_reply", timeout_s=5, caller_budget_s=5, recovering=True)
        got = await ActivityEnvironment().run(acts.attempt, inp)
    assert got.response == answer.response and got.target == PRIMARY
    assert any("journaled" in n for n in got.notes)
    assert [(x.status_class, x.latency_ms) for x in await outcomes.for_workflow("req-recover")] == [("ok", 3.0)]


async def test_group_committed_outcome_writes_land_exactly_once(engine) -> None:
    store = OutcomeStore(engine)

    def row(seq: int) -> OutcomeRow:
        return OutcomeRow(workflow_id="req-batch", run_id="r", seq=seq, try_no=1, target=PRIMARY, provider="openai",
                          model="gpt-4o", region="us-east", task_type="t", tenant="default", status_class="ok",
                          latency_ms=float(seq), created_at=1.0)
    await asyncio.gather(*(store.record(row(i)) for i in range(1, 41)))  # concurrent: a few transactions
    await asyncio.gather(*(store.record(row(i)) for i in range(1, 41)))  # the same keys again: overwritten
    rows = await store.for_workflow("req-batch")
    assert [x.seq for x in rows] == list(range(1, 41))
    bad = row(41).model_copy(update={"workflow_id": None})  # NOT NULL violated: the batch's callers see it
    results = await asyncio.gather(store.record(bad), return_exceptions=True)
    assert isinstance(results[0], Exception)
    await store.record(row(42))  # the writer carries on after a failed batch
    assert len(await store.for_workflow("req-batch")) == 41


async def test_old_journaled_answers_are_swept(engine, monkeypatch) -> None:
    from activities.storage import outcomes as outcomes_mod

    monkeypatch.setattr(outcomes_mod, "JOURNAL_SWEEP_EVERY", 1)
    store = OutcomeStore(engine)

    def row(run: str, at: float) -> OutcomeRow:
        return OutcomeRow(workflow_id=f"req-{run}", run_id=run, seq=1, try_no=1, target=PRIMARY, provider="openai",
                          model="gpt-4o", region="us-east", task_type="t", tenant="default", status_class="ok",
                          latency_ms=1.0, created_at=at)
    await store.record(row("sweep-old", 1.0), b"{}")
    now = time.time()
    await store.record(row("sweep-new", now), b"{}")  # this batch's sweep drops journals older than 1 h
    for _ in range(100):  # the sweep runs in the writer after the batch's callers were acknowledged
        if await store.journaled("sweep-old", 1, 1) is None:
            break
        await asyncio.sleep(0.05)
    assert await store.journaled("sweep-old", 1, 1) is None
    assert await store.journaled("sweep-new", 1, 1) == b"{}"
    assert len(await store.for_workflow("req-sweep-old")) == 1  # outcome rows are never swept
