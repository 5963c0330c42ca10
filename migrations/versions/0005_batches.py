"""Batches: batches, batch_items, batch_results (``activities/storage/batch_tables.py``).

Revision ID: 0005_batches
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_batches"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(120), nullable=False),
        sa.Column("source", sa.String(500), nullable=False, server_default=""),
        sa.Column("task_type", sa.String(100), nullable=True),
        sa.Column("tenant", sa.String(100), nullable=False, server_default="default"),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False, server_default="loaded"),
        sa.Column("round", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_batches"),
    )
    op.create_table(
        "batch_items",
        sa.Column("batch_id", sa.String(120), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("task_type", sa.String(100), nullable=True),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("round", sa.Integer, nullable=False, server_default="0"),
        sa.Column("workflow_id", sa.String(255), nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "n", name="pk_batch_items"),
    )
    op.create_index("ix_batch_items_batch_status_n", "batch_items", ["batch_id", "status", "n"])
    op.create_table(
        "batch_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("batch_id", sa.String(120), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("response_ref", sa.String(100), nullable=True),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("failovers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Text, nullable=False, server_default="[]"),
        sa.Column("error_class", sa.String(64), nullable=True),
        sa.Column("error_status", sa.Integer, nullable=True),
        sa.Column("error_message", sa.String(1000), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_results"),
        sa.UniqueConstraint("batch_id", "n", "round", name="uq_batch_results_item_round"),
    )


def downgrade() -> None:
    op.drop_table("batch_results")
    op.drop_index("ix_batch_items_batch_status_n", table_name="batch_items")
    op.drop_table("batch_items")
    op.drop_table("batches")
