"""Conversations and their transcripts (``activities/storage/conversation_tables.py``).

Revision ID: 0004_conversations
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_conversations"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("task_type", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(200), nullable=False, server_default=""),
        sa.Column("pinned_target", sa.String(255), nullable=True),
        sa.Column("preferred_target", sa.String(255), nullable=True),
        sa.Column("pin_moves", sa.Integer, nullable=False, server_default="0"),
        sa.Column("turns", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_seq", sa.Integer, nullable=False, server_default="1"),
        sa.Column("history_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", name="pk_conversations"),
    )
    op.create_index("ix_conversations_tenant_updated", "conversations", ["tenant", "updated_at"])
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("turn", sa.Integer, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("update_id", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("pin_kind", sa.String(16), nullable=True),
        sa.Column("pin_from", sa.String(255), nullable=True),
        sa.Column("pin_reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_messages"),
        sa.UniqueConstraint("workflow_id", "turn", "idx", name="uq_conversation_messages_turn"),
    )


def downgrade() -> None:
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversations_tenant_updated", table_name="conversations")
    op.drop_table("conversations")
