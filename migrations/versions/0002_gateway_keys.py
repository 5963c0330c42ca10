"""Gateway API keys (hashed, one tenant per key); see ``activities/storage/api_keys.py``.

Revision ID: 0002_gateway_keys
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_gateway_keys"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_gateway_api_keys"),
    )
    op.create_index("ix_gateway_api_keys_tenant", "gateway_api_keys", ["tenant"])


def downgrade() -> None:
    op.drop_index("ix_gateway_api_keys_tenant", table_name="gateway_api_keys")
    op.drop_table("gateway_api_keys")
