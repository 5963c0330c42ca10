"""Live streams' database channel: stream_events (``activities/storage/stream_tables.py``).

Revision ID: 0008_stream_events
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_stream_events"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "stream_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("stream_key", sa.String(300), nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stream_events"),
    )
    op.create_index("ix_stream_events_key_id", "stream_events", ["stream_key", "id"])
    op.create_index("ix_stream_events_created", "stream_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_stream_events_created", table_name="stream_events")
    op.drop_index("ix_stream_events_key_id", table_name="stream_events")
    op.drop_table("stream_events")
