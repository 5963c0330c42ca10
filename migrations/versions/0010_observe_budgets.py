"""Money budgets: budget_spend (``activities/storage/budget_tables.py``).

Revision ID: 0010_observe_budgets
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_observe_budgets"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_spend",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("period_start", sa.Float, nullable=False),
        sa.Column("spent_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("reserved_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("scope", "name", "period_start", name="pk_budget_spend"),
    )


def downgrade() -> None:
    op.drop_table("budget_spend")
