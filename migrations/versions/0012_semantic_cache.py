"""Semantic cache index: semantic_entries (``activities/storage/semantic_tables.py``).

Revision ID: 0012_semantic_cache
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_semantic_cache"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "semantic_entries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("partition", sa.String(64), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_semantic_entries"),
    )
    op.create_index("ix_semantic_entries_partition_id", "semantic_entries", ["partition", "id"])


def downgrade() -> None:
    op.drop_index("ix_semantic_entries_partition_id", table_name="semantic_entries")
    op.drop_table("semantic_entries")
