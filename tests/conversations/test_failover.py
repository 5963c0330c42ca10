"""A conversation whose pinned target goes down mid-conversation: failover with the whole history
translated to the next target's protocol, a recorded pin move, and an optional return."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from activities.storage.tables import outcomes
from core.chat import ChatMessage, ChatRequest
from core.conversation import ConversationConfig
from tests.configs import sim_config
from tests.conversations.conftest import conversation_worker, new_id
from tests.integration.test_request_path import PRIMARY, SECOND, apply, reset

CLAUDE = "anthropic/claude-3-5-sonnet@us-east"
SYSTEM = "You are a pharmacy support agent. Answer in two sentences."


def _texts(blocks) -> str:
    return blocks if isinstance(blocks, str) else "".join(b.get("text", "") for b in blocks)


async def _down(sim, *targets: str) -> None:
    for t in targets:
        await apply(sim, t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])


async def _pinned_search(client, wf_id: str, target: str) -> list[str]:
    query = f"WorkflowId = '{wf_id}' AND PinnedModel = '{target}'"
    for _ in range(50):
        found = [w.id async for w in client.list_workflows(query)]
        if found:
            return found
        await asyncio.sleep(0.2)
    return []


async def test_pinned_target_down_fails_over_with_the_whole_history(temporal_env, db_url, engine, sim) -> None:
    cid = new_id()
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url) as w:
        first = [ChatMessage(role="system", content=SYSTEM),
                 ChatMessage(role="user", content="Where is order NW-48213?")]
        t1 = await w.conv.send(cid, ChatRequest(messages=first))
        t2 = await w.conv.send(cid, "It was due on Monday.")
        await _down(sim, PRIMARY, SECOND)
        t3 = await w.conv.send(cid, "Please expedite it.")
        await reset(sim, PRIMARY)
        await reset(sim, SECOND)
        t4 = await w.conv.send(cid, "Thanks. Anything else I should do?")
        view = await w.conv.view(cid)
        stored = await w.conv.transcript(cid)
        wf_id = w.conv.workflow_id(cid)
        history = await temporal_env.client.get_workflow_handle(wf_id).fetch_history()
        searchable = await _pinned_search(temporal_env.client, wf_id, CLAUDE)
    assert [t.pinned_target for t in (t1, t2, t3, t4)] == [PRIMARY, PRIMARY, CLAUDE, CLAUDE]
    move = t3.pin_move
    assert move and move.kind == "failover" and (move.from_target, move.to_target, move.turn) == (PRIMARY, CLAUDE, 3)
    assert "Overloaded 503" in move.reason and PRIMARY in move.reason
    assert any("pin moved from" in n and CLAUDE in n for n in t3.trace.notes)
    assert [(a.target, a.error_class) for a in t3.trace.attempts] == [
        (PRIMARY, "Overloaded"), (PRIMARY, "Overloaded"), (SECOND, "Overloaded"), (SECOND, "Overloaded"),
        (CLAUDE, None)]
    assert t4.pin_move is None and t4.trace.attempts[-1].target == CLAUDE  # the pin stays after recovery
    # the query and the history show the move
    assert [(m.kind, m.to_target) for m in view.pin_history] == [("initial", PRIMARY), ("failover", CLAUDE)]
    assert view.pinned_target == CLAUDE and view.preferred_target == PRIMARY and view.pin_moves == 2
    upserts = [e for e in history.events if e.HasField("upsert_workflow_search_attributes_event_attributes")]
    assert len(upserts) == 2 and searchable == [wf_id]
    # consistent transcript: roles in order, earlier replies preserved, who answered each turn
    assert [(e.turn, e.role) for e in stored] == [(1, "system"), (1, "user"), (1, "assistant"), (2, "user"),
                                                  (2, "assistant"), (3, "user"), (3, "assistant"), (4, "user"),
                                                  (4, "assistant")]
    replies = [e for e in stored if e.role == "assistant"]
    assert [e.message.content for e in replies] == [t1.text(), t2.text(), t3.text(), t4.text()]
    assert [e.target for e in replies] == [PRIMARY, PRIMARY, CLAUDE, CLAUDE]
    # Claude received the whole history in Anthropic's format: system hoisted, earlier OpenAI replies as
    # assistant turns, the new user message last
    body = w.sent.to("/v1/messages")[0]
    assert _texts(body["system"]) == SYSTEM
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    got = [_texts(m["content"]) for m in body["messages"]]
    assert got == ["Where is order NW-48213?", t1.text(), "It was due on Monday.", t2.text(), "Please expedite it."]
    # outcome rows: one per call, unique seqs across turns; the failover call billed the whole history
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(outcomes).where(outcomes.c.workflow_id == wf_id)
                                   .order_by(outcomes.c.seq, outcomes.c.try_no))).all()
    assert [(r.seq, r.try_no, r.target, r.status_class) for r in rows] == [
        (1, 1, PRIMARY, "ok"), (2, 1, PRIMARY, "ok"), (3, 1, PRIMARY, "Overloaded"), (3, 2, PRIMARY, "Overloaded"),
        (4, 1, SECOND, "Overloaded"), (4, 2, SECOND, "Overloaded"), (5, 1, CLAUDE, "ok"), (6, 1, CLAUDE, "ok")]
    assert rows[6].prompt_tokens > rows[1].prompt_tokens > rows[0].prompt_tokens


async def test_return_to_the_preferred_target_after_it_stays_healthy(temporal_env, db_url, sim) -> None:
    cid = new_id()
    defaults = ConversationConfig(task_type="support_reply", return_after_s=4.0)
    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url, defaults=defaults) as w:
        await w.conv.send(cid, "Where is order NW-48213?")
        await _down(sim, PRIMARY, SECOND)
        moved = await w.conv.send(cid, "It was due on Monday.")
        await reset(sim, PRIMARY)
        await reset(sim, SECOND)
        soon = await w.conv.send(cid, "Still waiting.")  # last failure less than 4 s ago: stays
        await asyncio.sleep(4.2)
        back = await w.conv.send(cid, "Any news?")
        view = await w.conv.view(cid)
    assert moved.pinned_target == CLAUDE and soon.pinned_target == CLAUDE and soon.pin_move is None
    assert back.pin_move and back.pin_move.kind == "return"
    assert (back.pin_move.from_target, back.pin_move.to_target) == (CLAUDE, PRIMARY)
    assert back.trace.plan[:2] == [PRIMARY, CLAUDE]  # the current pin is the first fallback
    assert any("returning to preferred target" in n for n in back.trace.notes)
    assert [m.kind for m in view.pin_history] == ["initial", "failover", "return"]
