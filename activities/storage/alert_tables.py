"""Alert tables (Alembic revision ``0009_observe_alerts``), on the shared ``metadata``.

- ``alert_states``: one row per (rule, subject) that left ``ok``: its state machine
  (``core.alerts.AlertState``: ok | pending | firing | clearing, since, fired_at), so an evaluator
  that restarts, or another worker taking the lease over, resumes durations and hysteresis.
- ``alert_events``: every firing and resolved transition (``core.alerts.AlertEvent``) with the
  value, threshold and message; ``notified`` is True once the webhook accepted it.
- ``alert_lease``: one row naming the worker that evaluates until ``until`` (unix s), so several
  workers never fire the same alert twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

alert_states = sa.Table(
    "alert_states", metadata,
    sa.Column("rule", sa.String(100), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("fired_at", sa.Float, nullable=True),
)

alert_events = sa.Table(
    "alert_events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("fired_at", sa.Float, nullable=False),
    sa.Column("message", sa.String(500), nullable=False),
    sa.Column("notified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_alert_events_at", "at"),
)

alert_lease = sa.Table(
    "alert_lease", metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("until", sa.Float, nullable=False),
)
