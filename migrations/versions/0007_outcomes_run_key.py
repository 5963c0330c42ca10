"""Outcome rows unique per run: (workflow_id, run_id, seq, try_no).

A new run of the same workflow id (the gateway re-running a failed keyed request, a batch item
re-run) must not overwrite the earlier run's audit rows.

Revision ID: 0007_outcomes_run_key
Revises: 0001
Create Date: 2026-11-30
"""
from alembic import op

revision = "0007_outcomes_run_key"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_constraint("uq_outcomes_attempt", type_="unique")
        batch.create_unique_constraint("uq_outcomes_attempt", ["workflow_id", "run_id", "seq", "try_no"])


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_constraint("uq_outcomes_attempt", type_="unique")
        batch.create_unique_constraint("uq_outcomes_attempt", ["workflow_id", "seq", "try_no"])
