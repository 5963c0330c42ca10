"""Rate-limit buckets of the database admission store (``activities/storage/rate_tables.py``).

Revision ID: 0009_shed_rate_buckets
Revises: 0008_stream_events
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_shed_rate_buckets"
down_revision = "0008_stream_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("bucket_key", sa.String(300), nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("bucket_key", name="pk_rate_buckets"),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
