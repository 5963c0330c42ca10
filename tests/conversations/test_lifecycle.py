"""Conversation lifecycle on the real dev server: continue-as-new carrying the pin, hundreds of
turns, idle end and resume, explicit close, payloads too large for Temporal, determinism."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from core.conversation import ConversationConfig, ConversationView
from tests.configs import sim_config
from tests.conversations.conftest import conversation_worker, new_id
from tests.conversations.test_failover import CLAUDE, _down
from tests.integration.test_request_path import PRIMARY, SECOND, apply, reset
from worker.conversations import TurnFailed
from worker.runtime import WORKFLOWS, sandbox_runner


async def _runs(client, wf_id: str) -> list[WorkflowHistory]:
    """Every run's history of a workflow id, oldest first."""
    return [await client.get_workflow_handle(wf_id, run_id=w.run_id).fetch_history()
            async for w in client.list_workflows(f"WorkflowId = '{wf_id}'")][::-1]


async def test_continue_as_new_carries_the_pin_and_its_history(temporal_env, db_url, sim) -> None:
    cid = new_id()
    defaults = ConversationConfig(task_type="support_reply", max_turns_per_run=2)
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url, defaults=defaults) as w:
        await w.conv.send(cid, "Where is order NW-48213?", update_id=f"{cid}-u1")
        await _down(sim, PRIMARY, SECOND)
        moved = await w.conv.send(cid, "It was due on Monday.")  # run 1 ends here (2 turns)
        await reset(sim, PRIMARY)
        await reset(sim, SECOND)
        later = [await w.conv.send(cid, f"Follow-up {i}") for i in range(3)]  # runs 2 and 3
        with pytest.raises(TurnFailed) as dup:
            await w.conv.send(cid, "Where is order NW-48213?", update_id=f"{cid}-u1")
        view = await w.conv.view(cid)
        stored = await w.conv.transcript(cid)
        wf_id = w.conv.workflow_id(cid)
        runs = await _runs(temporal_env.client, wf_id)
    assert moved.pin_move and moved.pin_move.to_target == CLAUDE
    assert [t.pinned_target for t in later] == [CLAUDE] * 3 and all(t.pin_move is None for t in later)
    assert [t.turn for t in later] == [3, 4, 5]
    assert view.run_no == 3 and view.turns == 5 and view.pinned_target == CLAUDE and view.preferred_target == PRIMARY
    assert [(m.kind, m.turn) for m in view.pin_history] == [("initial", 1), ("failover", 2)]
    assert dup.value.failure.error_class == "DuplicateTurn" and dup.value.failure.status == 409
    assert len(runs) == 3
    assert all(h.events[-1].HasField("workflow_execution_continued_as_new_event_attributes") for h in runs[:2])
    # the last run's first call still carried every earlier turn
    last_call = w.sent.to("/v1/messages")[-1]
    assert len(last_call["messages"]) == 9
    assert [(e.turn, e.role) for e in stored] == [(t, r) for t in range(1, 6) for r in ("user", "assistant")]
    # every run replays with the current code
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=sandbox_runner())
    for h in runs:
        assert (await replayer.replay_workflow(h)).replay_failure is None


async def test_hundreds_of_turns_keep_working(temporal_env, db_url, sim) -> None:
    cid = new_id()
    defaults = ConversationConfig(task_type="support_reply", max_turns_per_run=60)
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url, defaults=defaults) as w:
        results = [await w.conv.send(cid, f"Message {i}: status of order NW-{i}?") for i in range(1, 201)]
        view = await w.conv.view(cid)
        stored = await w.conv.transcript(cid)
        runs = await _runs(temporal_env.client, w.conv.workflow_id(cid))
    assert [r.turn for r in results] == list(range(1, 201))
    assert {r.pinned_target for r in results} == {PRIMARY}
    assert view.turns == 200 and view.run_no == 4 and len(runs) == 4
    assert view.transcript[-1].turn == 200 and view.transcript_from_turn > 1  # a bounded recent window
    assert len(stored) == 400 and stored[-2].message.content == "Message 200: status of order NW-200?"
    assert max(len(h.events) for h in runs) < 1000


async def test_idle_conversation_ends_and_resumes_from_the_database(temporal_env, db_url, sim) -> None:
    cid = new_id()
    defaults = ConversationConfig(task_type="support_reply", idle_timeout_s=1.0)
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url, defaults=defaults) as w:
        await w.conv.send(cid, "Where is order NW-48213?")
        await _down(sim, PRIMARY, SECOND)
        first = await w.conv.send(cid, "It was due on Monday.")
        await reset(sim, PRIMARY)
        await reset(sim, SECOND)
        handle = temporal_env.client.get_workflow_handle(w.conv.workflow_id(cid), result_type=ConversationView)
        ended = await handle.result()
        again = await w.conv.send(cid, "Hello again, any news?")
        runs = await _runs(temporal_env.client, w.conv.workflow_id(cid))
        view = await w.conv.view(cid)
    assert ended.status == "idle" and ended.turns == 2 and ended.idle_deadline is None
    assert runs[0].events[-1].HasField("workflow_execution_completed_event_attributes") and len(runs) == 2
    assert again.turn == 3 and again.pinned_target == CLAUDE and again.pin_move is None
    assert [m.kind for m in view.pin_history] == ["initial", "failover"] and view.turns == 3
    assert len(w.sent.to("/v1/messages")[-1]["messages"]) == 5  # the resumed turn had the whole history
    assert first.trace.attempts[-1].seq < again.trace.attempts[-1].seq  # attempt numbering continued


async def test_closed_conversation_refuses_new_turns(temporal_env, db_url, sim) -> None:
    cid = new_id()
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url) as w:
        await w.conv.send(cid, "Where is order NW-48213?")
        closed = await w.conv.close(cid, reason="ticket resolved")
        handle = temporal_env.client.get_workflow_handle(w.conv.workflow_id(cid), result_type=ConversationView)
        final = await handle.result()
        with pytest.raises(TurnFailed) as refused:
            await w.conv.send(cid, "One more thing")
        stored = await w.conv.transcript(cid)
    assert closed.status == final.status == "closed" and final.turns == 1
    assert refused.value.failure.error_class == "ConversationClosed" and refused.value.failure.status == 409
    assert len(stored) == 2


async def test_payloads_too_large_for_temporal_are_stored_and_referenced(temporal_env, db_url, sim) -> None:
    cid = new_id()
    contract = "Clause 12.2: the supplier shall deliver the goods. " * 6000  # ~300 KB
    await apply(sim, PRIMARY, output_tokens={"median": 3000, "p99": 3100})
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url,
                                   inline_limit_bytes=4096) as w:
        big_in = await w.conv.send(cid, contract)
        nxt = await w.conv.send(cid, "Summarise it in one line.")
        stored = await w.conv.transcript(cid)
        view = await w.conv.view(cid)
        history = await temporal_env.client.get_workflow_handle(w.conv.workflow_id(cid)).fetch_history()
    assert big_in.response_ref and len(big_in.text()) > 4096  # the large reply went by reference too
    assert stored[0].message.content == contract and stored[1].message.content == big_in.text()
    call = w.sent.to("/chat/completions")[-1]
    assert call["messages"][0]["content"] == contract and call["messages"][1]["content"] == big_in.text()
    assert nxt.turn == 2
    assert view.transcript[0].message is None and view.transcript[0].ref  # the window keeps the reference
    assert len(history.to_json()) < 100_000  # neither the contract nor the long answer is in history
