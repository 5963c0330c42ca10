"""Outcomes, cooldowns and large payloads.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("try_no", sa.Integer, nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("model", sa.String(150), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("task_type", sa.String(100), nullable=False),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("status_class", sa.String(64), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("retry_after_s", sa.Float, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ttft_ms", sa.Float, nullable=True),
        sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("tokens_estimated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("quality_flags", sa.String(255), nullable=False, server_default=""),
        sa.Column("counts_against_health", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("message", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outcomes"),
        sa.UniqueConstraint("workflow_id", "seq", "try_no", name="uq_outcomes_attempt"),
    )
    op.create_index("ix_outcomes_task_target_time", "outcomes", ["task_type", "target", "created_at"])
    op.create_index("ix_outcomes_target_time", "outcomes", ["target", "created_at"])
    op.create_table(
        "cooldowns",
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("until", sa.Float, nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("target", name="pk_cooldowns"),
    )
    op.create_table(
        "payloads",
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("ref", name="pk_payloads"),
    )


def downgrade() -> None:
    op.drop_table("payloads")
    op.drop_table("cooldowns")
    op.drop_index("ix_outcomes_target_time", table_name="outcomes")
    op.drop_index("ix_outcomes_task_target_time", table_name="outcomes")
    op.drop_table("outcomes")
