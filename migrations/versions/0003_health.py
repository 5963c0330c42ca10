"""Health: health_targets, health_probes, feedback, outcomes.health_state (``activities/storage/health_tables.py``).

Revision ID: 0003_health
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_health"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "health_targets",
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("breaker", sa.String(16), nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),
        sa.Column("tracker", sa.Text, nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("worker", sa.String(100), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("target", name="pk_health_targets"),
    )
    op.create_table(
        "health_probes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("status_class", sa.String(64), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("quality_flags", sa.String(255), nullable=False, server_default=""),
        sa.Column("message", sa.String(500), nullable=False, server_default=""),
        sa.Column("worker", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_health_probes"),
    )
    op.create_table(
        "feedback",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("positive", sa.Boolean, nullable=False),
        sa.Column("target", sa.String(255), nullable=False, server_default=""),
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("try_no", sa.Integer, nullable=True),
        sa.Column("task_type", sa.String(100), nullable=False, server_default=""),
        sa.Column("comment", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("workflow_id", name="uq_feedback_workflow_id"),
    )
    op.add_column("outcomes", sa.Column("health_state", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("health_state")
    op.drop_table("feedback")
    op.drop_table("health_probes")
    op.drop_table("health_targets")
