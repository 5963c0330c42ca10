"""Conversation store: transcripts and conversation rows (tables in ``conversation_tables.py``).

Every write is an upsert keyed by ``(workflow_id, turn, idx)`` (messages) or ``workflow_id``
(conversation row), so an activity Temporal runs twice (a worker died before its result was
recorded) leaves exactly the rows of the run that counted. The conversation row only moves
forward: an upsert carrying fewer turns than the stored row is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.conversation_tables import conversation_messages as msgs
from activities.storage.conversation_tables import conversations
from activities.storage.tables import outcomes
from activities.storage.upsert import upsert_stmt
from core.chat import ChatMessage
from core.conversation import PinMove, TranscriptEntry
from core.conversation_io import MarkInput, ResumeResult


@dataclass(frozen=True)
class StoredMessage:
    """One transcript row to write: position in the turn, the message, the target that wrote it."""

    idx: int
    message: ChatMessage
    target: str | None = None
    pin: PinMove | None = None


@dataclass(frozen=True)
class ConversationRow:
    """The conversation row's values after a turn (see ``conversation_tables.conversations``)."""

    workflow_id: str
    conversation_id: str
    tenant: str
    task_type: str | None
    pinned_target: str | None
    preferred_target: str | None
    pin_moves: int
    turns: int
    next_seq: int
    history_tokens: int
    at: float


class ConversationStore:
    """Reads and writes conversations through an injected async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_turn(self, row: ConversationRow, turn: int, update_id: str,
                          messages: list[StoredMessage]) -> None:
        """Write one answered turn's messages and the conversation row, in one transaction."""
        values = [{"workflow_id": row.workflow_id, "turn": turn, "idx": m.idx, "role": m.message.role,
                   "update_id": update_id, "body": m.message.model_dump_json(exclude_none=True),
                   "target": m.target, "pin_kind": m.pin.kind if m.pin else None,
                   "pin_from": m.pin.from_target if m.pin else None,
                   "pin_reason": (m.pin.reason if m.pin else "")[:500], "created_at": row.at}
                  for m in messages]
        conv = {"workflow_id": row.workflow_id, "conversation_id": row.conversation_id, "tenant": row.tenant,
                "task_type": row.task_type, "status": "open", "status_reason": "",
                "pinned_target": row.pinned_target, "preferred_target": row.preferred_target,
                "pin_moves": row.pin_moves, "turns": row.turns, "next_seq": row.next_seq,
                "history_tokens": row.history_tokens, "created_at": row.at, "updated_at": row.at}
        update = [c for c in conv if c not in ("workflow_id", "created_at")]
        async with self._engine.begin() as conn:
            await conn.execute(upsert_stmt(conn, msgs, values, ("workflow_id", "turn", "idx")))
            await conn.execute(sa.delete(msgs).where(msgs.c.workflow_id == row.workflow_id, msgs.c.turn == turn,
                                                     msgs.c.idx >= len(messages)))
            await conn.execute(upsert_stmt(conn, conversations, conv, ["workflow_id"], update=update,
                                           where=lambda ex: conversations.c.turns <= ex.turns))

    async def history(self, workflow_id: str, through_turn: int) -> list[ChatMessage]:
        """The stored messages of turns ``1..through_turn``, in order."""
        if through_turn < 1:
            return []
        q = (sa.select(msgs.c.body).where(msgs.c.workflow_id == workflow_id, msgs.c.turn <= through_turn)
             .order_by(msgs.c.turn, msgs.c.idx))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [ChatMessage.model_validate_json(r.body) for r in rows]

    async def transcript(self, workflow_id: str, from_turn: int = 1, limit: int | None = None) -> list[TranscriptEntry]:
        """Stored entries from ``from_turn`` on, oldest first; with ``limit``, only the last ones."""
        q = sa.select(msgs).where(msgs.c.workflow_id == workflow_id, msgs.c.turn >= from_turn)
        if limit is not None:
            q = q.order_by(msgs.c.turn.desc(), msgs.c.idx.desc()).limit(limit)
        else:
            q = q.order_by(msgs.c.turn, msgs.c.idx)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        if limit is not None:
            rows = list(reversed(rows))
        return [TranscriptEntry(turn=r.turn, idx=r.idx, role=r.role, target=r.target,
                                message=ChatMessage.model_validate_json(r.body)) for r in rows]

    async def pin_history(self, workflow_id: str, limit: int = 50) -> list[PinMove]:
        """The conversation's last ``limit`` pin moves, oldest first."""
        q = (sa.select(msgs.c.turn, msgs.c.target, msgs.c.pin_kind, msgs.c.pin_from, msgs.c.pin_reason,
                       msgs.c.created_at)
             .where(msgs.c.workflow_id == workflow_id, msgs.c.pin_kind.is_not(None))
             .order_by(msgs.c.turn.desc()).limit(limit))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [PinMove(turn=r.turn, from_target=r.pin_from, to_target=r.target, kind=r.pin_kind,
                        reason=r.pin_reason, at=r.created_at) for r in reversed(rows)]

    async def load(self, workflow_id: str, tail_entries: int = 20) -> ResumeResult:
        """The stored progress of a conversation (``found`` False when it has no row)."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(conversations).where(
                conversations.c.workflow_id == workflow_id))).first()
        if row is None:
            return ResumeResult(found=False)
        return ResumeResult(found=True, status=row.status, status_reason=row.status_reason, turns=row.turns,
                            next_seq=row.next_seq, history_tokens=row.history_tokens,
                            pinned_target=row.pinned_target, preferred_target=row.preferred_target,
                            pin_moves=row.pin_moves, pin_history=await self.pin_history(workflow_id),
                            tail=await self.transcript(workflow_id, limit=tail_entries) if tail_entries else [])

    async def mark(self, inp: MarkInput) -> None:
        """Set a conversation's status (creating its row if it has none yet)."""
        values = {"workflow_id": inp.workflow_id, "conversation_id": inp.conversation_id, "tenant": inp.tenant,
                  "task_type": inp.task_type, "status": inp.status, "status_reason": inp.reason[:200],
                  "created_at": inp.at, "updated_at": inp.at}
        async with self._engine.begin() as conn:
            await conn.execute(upsert_stmt(conn, conversations, values, ["workflow_id"],
                                           update=["status", "status_reason", "updated_at"]))

    async def last_failure(self, target: str, since: float) -> float | None:
        """Unix s of ``target``'s latest failure counting against health after ``since`` (any
        workflow's outcome rows), or ``None``."""
        q = sa.select(sa.func.max(outcomes.c.created_at)).where(
            outcomes.c.target == target, outcomes.c.counts_against_health == sa.true(),
            outcomes.c.created_at > since)
        async with self._engine.connect() as conn:
            return (await conn.execute(q)).scalar()
