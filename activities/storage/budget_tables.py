"""Budget spend table (Alembic revision ``0010_observe_budgets``), on the shared ``metadata``.

- ``budget_spend``: one row per (scope, name, period start): ``spent_usd`` settled from outcome
  rows, ``reserved_usd`` held by requests in flight (their estimates). Unix seconds.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

budget_spend = sa.Table(
    "budget_spend", metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("period_start", sa.Float, primary_key=True),
    sa.Column("spent_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("reserved_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.Float, nullable=False),
)
