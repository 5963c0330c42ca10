"""Drills and eval: drill_results, eval_scores, drill_windows (``activities/storage/drill_tables.py``).

Revision ID: 0012_drills_eval
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_drills_eval"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "drill_results",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("primary_score", sa.Float, nullable=False),
        sa.Column("success_rate", sa.Float, nullable=False),
        sa.Column("latency_p50_ms", sa.Float, nullable=True),
        sa.Column("latency_p95_ms", sa.Float, nullable=True),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drill_results"),
        sa.UniqueConstraint("run_id", "target", name="uq_drill_results_run_target"),
    )
    op.create_index("ix_drill_results_target_created", "drill_results", ["target", "created_at"])
    op.create_table(
        "eval_scores",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("task_type", sa.String(100), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("score_sum", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_scores"),
        sa.UniqueConstraint("run_id", "target", name="uq_eval_scores_run_target"),
    )
    op.create_index("ix_eval_scores_task_created", "eval_scores", ["task_type", "created_at"])
    op.create_table(
        "drill_windows",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("starts_at", sa.Float, nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drill_windows"),
        sa.UniqueConstraint("run_id", "target", name="uq_drill_windows_run_target"),
    )
    op.create_index("ix_drill_windows_ends_at", "drill_windows", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_drill_windows_ends_at", table_name="drill_windows")
    op.drop_table("drill_windows")
    op.drop_index("ix_eval_scores_task_created", table_name="eval_scores")
    op.drop_table("eval_scores")
    op.drop_index("ix_drill_results_target_created", table_name="drill_results")
    op.drop_table("drill_results")
