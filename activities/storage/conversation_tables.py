"""Conversation tables (SQLAlchemy Core, on the shared ``metadata``; Alembic revision ``0004``).

- ``conversations``: one row per conversation workflow id (``conv-<tenant>-<id>``): status
  (``open``, ``idle``, ``closed``), the pin and the preferred target, and the progress a new
  execution resumes from (answered turns, next attempt seq, estimated history tokens). Mirrors
  the workflow's state after every answered turn (``shared/TEMPORAL.md`` recommendation 7).
- ``conversation_messages``: the transcript, one row per message, unique on
  ``(workflow_id, turn, idx)``; a turn's new messages take ``idx`` 0.., the reply the next one.
  Turn numbers are assigned by the workflow, one per accepted update (``update_id`` is stored), so
  a re-run of a turn overwrites its own rows instead of adding any. The reply's row carries the
  target that answered and, when the turn moved the pin, the move (``pin_kind``, ``pin_from``,
  ``pin_reason``): the full pin history is ``WHERE pin_kind IS NOT NULL``.

``body`` is the message as OpenAI Chat Completions JSON (``core.chat.ChatMessage``).
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

conversations = sa.Table(
    "conversations", metadata,
    sa.Column("workflow_id", sa.String(255), primary_key=True),
    sa.Column("conversation_id", sa.String(200), nullable=False),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("task_type", sa.String(100), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # open | idle | closed
    sa.Column("status_reason", sa.String(200), nullable=False, server_default=""),
    sa.Column("pinned_target", sa.String(255), nullable=True),
    sa.Column("preferred_target", sa.String(255), nullable=True),
    sa.Column("pin_moves", sa.Integer, nullable=False, server_default="0"),
    sa.Column("turns", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_seq", sa.Integer, nullable=False, server_default="1"),
    sa.Column("history_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),  # unix seconds
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_conversations_tenant_updated", "tenant", "updated_at"),
)

conversation_messages = sa.Table(
    "conversation_messages", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("workflow_id", sa.String(255), nullable=False),
    sa.Column("turn", sa.Integer, nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("update_id", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("target", sa.String(255), nullable=True),
    sa.Column("pin_kind", sa.String(16), nullable=True),  # initial | failover | return
    sa.Column("pin_from", sa.String(255), nullable=True),
    sa.Column("pin_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),  # unix seconds (the workflow's clock)
    sa.UniqueConstraint("workflow_id", "turn", "idx", name="uq_conversation_messages_turn"),
)
