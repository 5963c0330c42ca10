"""Quality across failover: prompt_rewrites (``activities/storage/prompt_tables.py``) and the
outcome columns prompt_variant, prompt_rewrite and normalized.

Revision ID: 0012_quality_variants
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_quality_variants"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_rewrites",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("family", sa.String(255), nullable=False),
        sa.Column("source_hash", sa.String(16), nullable=False),
        sa.Column("source_text", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("by_target", sa.String(255), nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("reviewed_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_prompt_rewrites"),
        sa.UniqueConstraint("route", "family", "source_hash", name="uq_prompt_rewrites_key"),
    )
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("prompt_variant", sa.String(100), nullable=True))
        batch.add_column(sa.Column("prompt_rewrite", sa.String(32), nullable=True))
        batch.add_column(sa.Column("normalized", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("normalized")
        batch.drop_column("prompt_rewrite")
        batch.drop_column("prompt_variant")
    op.drop_table("prompt_rewrites")
