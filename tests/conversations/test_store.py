"""The conversation store on SQLite and PostgreSQL: idempotent turn writes, a row that only moves
forward, resume data, pin history, and revision 0004_conversations up and down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.conversations import ConversationRow, ConversationStore, StoredMessage
from activities.storage.engine import make_engine
from activities.storage.outcomes import OutcomeRow, OutcomeStore
from core.chat import ChatMessage
from core.conversation import PinMove
from core.conversation_io import MarkInput
from migrations.runner import downgrade, upgrade
from tests.conversations.conftest import new_id

A, B = "openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet@us-east"


@pytest.fixture(params=["sqlite", "session"])
async def any_engine(request, tmp_path, engine) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite file, and the session database (PostgreSQL when available)."""
    if request.param == "session":
        yield engine
        return
    url = f"sqlite:///{tmp_path / 'conv.db'}"
    await asyncio.to_thread(upgrade, url)
    eng = make_engine(url)
    yield eng
    await eng.dispose()


def _row(wf: str, turns: int, pinned: str, **kw) -> ConversationRow:
    base = dict(workflow_id=wf, conversation_id=wf[5:], tenant="default", task_type="support_reply",
                pinned_target=pinned, preferred_target=A, pin_moves=1, turns=turns, next_seq=turns + 1,
                history_tokens=10 * turns, at=1000.0 + turns)
    return ConversationRow(**{**base, **kw})


def _msgs(turn: int, reply: str, target: str, pin: PinMove | None = None) -> list[StoredMessage]:
    return [StoredMessage(0, ChatMessage(role="user", content=f"question {turn}")),
            StoredMessage(1, ChatMessage(role="assistant", content=reply), target=target, pin=pin)]


async def test_turn_writes_are_idempotent_and_resume_data_is_complete(any_engine) -> None:
    store = ConversationStore(any_engine)
    wf = f"conv-default-{new_id()}"
    initial = PinMove(turn=1, from_target=None, to_target=A, kind="initial", reason="first answer", at=1001.0)
    moved = PinMove(turn=2, from_target=A, to_target=B, kind="failover", reason="A failed", at=1002.0)
    await store.record_turn(_row(wf, 1, A), 1, "u1", _msgs(1, "first try", A, initial))
    await store.record_turn(_row(wf, 1, A), 1, "u1", _msgs(1, "answer one", A, initial))  # a re-run wins
    await store.record_turn(_row(wf, 2, B, pin_moves=2), 2, "u2", _msgs(2, "answer two", B, moved))
    await store.record_turn(_row(wf, 1, A), 1, "u1", _msgs(1, "answer one", A, initial))  # late: row stays at 2
    got = await store.load(wf)
    history = await store.history(wf, through_turn=2)
    assert [(m.role, m.content) for m in history] == [("user", "question 1"), ("assistant", "answer one"),
                                                      ("user", "question 2"), ("assistant", "answer two")]
    assert await store.history(wf, through_turn=1) == history[:2]
    assert got.found and got.turns == 2 and got.pinned_target == B and got.next_seq == 3 and got.pin_moves == 2
    assert got.pin_history == [initial, moved]
    assert [(e.turn, e.idx, e.target) for e in got.tail] == [(1, 0, None), (1, 1, A), (2, 0, None), (2, 1, B)]
    assert [e.turn for e in await store.transcript(wf, limit=2)] == [2, 2]
    await store.mark(MarkInput(workflow_id=wf, conversation_id="x", tenant="default", status="closed",
                               reason="done", at=2000.0))
    closed = await store.load(wf)
    assert closed.status == "closed" and closed.status_reason == "done" and closed.turns == 2
    assert not (await store.load("conv-default-never")).found


async def test_last_failure_counts_only_health_failures_after_since(any_engine) -> None:
    outcomes = OutcomeStore(any_engine)
    target = f"openai/m-{new_id()}@r"
    common = dict(workflow_id=new_id(), provider="openai", model="m", region="r", task_type="t", tenant="d",
                  latency_ms=1.0)
    await outcomes.record(OutcomeRow(seq=1, try_no=1, target=target, status_class="ServerError",
                                     counts_against_health=True, created_at=100.0, **common))
    await outcomes.record(OutcomeRow(seq=2, try_no=1, target=target, status_class="InvalidRequest",
                                     counts_against_health=False, created_at=200.0, **common))
    store = ConversationStore(any_engine)
    assert await store.last_failure(target, since=50.0) == 100.0
    assert await store.last_failure(target, since=150.0) is None


async def test_revision_0004_goes_down_and_up_again(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'mig.db'}"
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(downgrade, url, "0004_conversations@-1")
    eng = make_engine(url)
    try:
        async with eng.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert "conversations" not in names and "conversation_messages" not in names and "outcomes" in names
        await asyncio.to_thread(upgrade, url)
        async with eng.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert {"conversations", "conversation_messages"} <= set(names)
    finally:
        await eng.dispose()
