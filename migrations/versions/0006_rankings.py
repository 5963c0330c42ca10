"""Learned rankings: rankings, ranking_entries (``activities/storage/ranking_tables.py``).

Revision ID: 0006_rankings
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_rankings"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "rankings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("task_type", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("pinned", sa.Text, nullable=False, server_default="[]"),
        sa.Column("notes", sa.Text, nullable=False, server_default="[]"),
        sa.PrimaryKeyConstraint("id", name="pk_rankings"),
        sa.UniqueConstraint("task_type", "version", name="uq_rankings_task_version"),
        sa.UniqueConstraint("task_type", "run_id", name="uq_rankings_task_run"),
    )
    op.create_table(
        "ranking_entries",
        sa.Column("ranking_id", _ID, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("p_best", sa.Float, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("why", sa.String(500), nullable=False, server_default=""),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("successes", sa.Integer, nullable=False),
        sa.Column("success_rate", sa.Float, nullable=True),
        sa.Column("latency_p50_ms", sa.Float, nullable=True),
        sa.Column("latency_p95_ms", sa.Float, nullable=True),
        sa.Column("ttft_p50_ms", sa.Float, nullable=True),
        sa.Column("cost_per_success_usd", sa.Float, nullable=True),
        sa.Column("quality_flag_rate", sa.Float, nullable=True),
        sa.Column("feedback_score", sa.Float, nullable=True),
        sa.Column("votes", sa.Integer, nullable=False),
        sa.Column("effective_samples", sa.Float, nullable=False),
        sa.Column("left_to_health", sa.Integer, nullable=False),
        sa.Column("reset", sa.String(100), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(["ranking_id"], ["rankings.id"], name="fk_ranking_entries_ranking_id_rankings",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ranking_id", "position", name="pk_ranking_entries"),
    )


def downgrade() -> None:
    op.drop_table("ranking_entries")
    op.drop_table("rankings")
