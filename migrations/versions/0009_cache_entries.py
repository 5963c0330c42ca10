"""Response cache: cache_entries (``activities/storage/cache_tables.py``) and the cache columns of
outcomes (``cache``: hit | stale for an answer served from the cache; ``saved_usd``: its saving).

Revision ID: 0009_cache_entries
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_cache_entries"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("source_target", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("stale_until", sa.Float, nullable=False),
        sa.Column("hits", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_hit_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_cache_entries"),
    )
    op.create_index("ix_cache_entries_last_hit", "cache_entries", ["last_hit_at"])
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("cache", sa.String(16), nullable=True))
        batch.add_column(sa.Column("saved_usd", sa.Float, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("saved_usd")
        batch.drop_column("cache")
    op.drop_index("ix_cache_entries_last_hit", table_name="cache_entries")
    op.drop_table("cache_entries")
