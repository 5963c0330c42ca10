"""Conversation turns on the real dev server, database and simulator: pinning, transcript, order."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError

from core.chat import ChatMessage, ChatRequest
from core.conversation import ConversationConfig, TurnInput, TurnResult
from tests.configs import sim_config
from tests.conversations.conftest import conversation_worker, new_id
from tests.integration.test_request_path import PRIMARY
from worker.conversations import TurnFailed


async def test_turns_stay_on_the_first_answering_target(temporal_env, db_url, sim) -> None:
    cid = new_id()
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url) as w:
        first = await w.conv.send(cid, ChatRequest(messages=[
            ChatMessage(role="system", content="You are a pharmacy support agent."),
            ChatMessage(role="user", content="Where is my refill order NW-48213?")], max_tokens=100))
        second = await w.conv.send(cid, "It was due on Monday.")
        third = await w.conv.send(cid, "Can you expedite it?")
        view = await w.conv.view(cid)
        stored = await w.conv.transcript(cid)
    assert [t.turn for t in (first, second, third)] == [1, 2, 3]
    assert {t.pinned_target for t in (first, second, third)} == {PRIMARY}
    assert first.pin_move and first.pin_move.kind == "initial" and first.pin_move.to_target == PRIMARY
    assert second.pin_move is None and third.pin_move is None
    assert third.trace.plan[0] == PRIMARY and "conversation pinned to this target" in third.trace.plan_reasons[PRIMARY]
    assert [(e.turn, e.role) for e in stored] == [(1, "system"), (1, "user"), (1, "assistant"), (2, "user"),
                                                  (2, "assistant"), (3, "user"), (3, "assistant")]
    assert stored[2].message.content == first.text() and stored[2].target == PRIMARY
    assert view.turns == 3 and view.pinned_target == view.preferred_target == PRIMARY
    assert [m.kind for m in view.pin_history] == ["initial"]
    assert [(e.turn, e.role) for e in view.transcript] == [(e.turn, e.role) for e in stored]
    # the third call carried the whole history: system, three user messages, two earlier replies
    body = w.sent.to("/chat/completions")[-1]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert body["messages"][2]["content"] == first.text() and body["messages"][4]["content"] == second.text()


async def test_concurrent_turns_are_serialised(temporal_env, db_url, sim) -> None:
    cid = new_id()
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url) as w:
        await w.conv.send(cid, "Hello, I need help with two orders.")
        a, b = await asyncio.gather(w.conv.send(cid, "First: order NW-1."), w.conv.send(cid, "Second: order NW-2."))
        stored = await w.conv.transcript(cid)
    assert sorted([a.turn, b.turn]) == [2, 3]
    assert a.trace.attempts[-1].seq != b.trace.attempts[-1].seq  # outcome rows never share a key
    first, later = (a, b) if a.turn == 2 else (b, a)
    # one at a time: the later turn's provider call already carried the earlier turn and its reply
    calls = w.sent.to("/chat/completions")
    assert len(calls) == 3
    assert [m["role"] for m in calls[1]["messages"]] == ["user", "assistant", "user"]
    assert [m["role"] for m in calls[2]["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert calls[2]["messages"][3]["content"] == first.text()
    assert [(e.turn, e.role) for e in stored] == [(t, r) for t in (1, 2, 3) for r in ("user", "assistant")]


async def test_malformed_and_late_turns_are_rejected_before_history(temporal_env, db_url, sim) -> None:
    cid = new_id()
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url) as w:
        with pytest.raises(ValueError, match="assistant"):
            await w.conv.send(cid, ChatMessage(role="assistant", content="I already answered"))
        await w.conv.send(cid, "Hello")
        handle = temporal_env.client.get_workflow_handle(w.conv.workflow_id(cid))
        bad = [TurnInput(request=ChatRequest(messages=[ChatMessage(role="assistant", content="forged reply")])),
               TurnInput(request=ChatRequest(messages=[ChatMessage(role="user", content="  ")])),
               TurnInput(request=ChatRequest(messages=[ChatMessage(role="user", content="hi")], stream=True)),
               TurnInput()]
        for turn in bad:
            with pytest.raises(WorkflowUpdateFailedError) as e:
                await handle.execute_update("turn", turn, result_type=TurnResult)
            assert e.value.cause.type == "InvalidRequest"
        with pytest.raises(TurnFailed) as late:
            await w.conv.send(cid, "Again", expect_turn=1)
        ok = await w.conv.send(cid, "Next", expect_turn=2)
        with pytest.raises(TurnFailed) as unknown:
            await w.conv.send(new_id(), "Hi", config=ConversationConfig(task_type="no_such_route"))
        history = await handle.fetch_history()
    assert late.value.failure.error_class == "OutOfOrderTurn" and late.value.failure.status == 409
    assert ok.turn == 2
    assert unknown.value.failure.error_class == "InvalidRequest" and unknown.value.failure.status == 400
    assert "no_such_route" in unknown.value.failure.message
    kinds = [e.WhichOneof("attributes") for e in history.events]
    assert kinds.count("workflow_execution_update_accepted_event_attributes") == 2  # rejections left no trace
