"""Health tables (Alembic revision ``0003_health``), on the shared ``metadata``.

- ``health_targets``: one row per target, the latest published view of the worker that wrote it
  last: state (healthy | degraded | down), level, score (0..1), breaker state, traffic share,
  reasons (JSON list), and the whole tracker (JSON, ``core/health/tracker.py``) so a restarted
  worker resumes baselines, breaker and share where they were. Unix seconds.
- ``health_probes``: one row per active probe call (never in ``outcomes``: probes are not
  requests and must not count as traffic or reach the learning layer).
- ``feedback``: one thumbs up/down per request workflow (latest vote wins), with the outcome row
  it judges (``seq``, ``try_no``, ``target``) so it is stored with the outcome.

``outcomes.health_state`` (added by the same revision, declared in ``tables.py``) records the
target's state when each call was made, for the learning layer (RESILIENCE.md R10.4).
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

health_targets = sa.Table(
    "health_targets", metadata,
    sa.Column("target", sa.String(255), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("breaker", sa.String(16), nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),
    sa.Column("tracker", sa.Text, nullable=False, server_default="{}"),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("worker", sa.String(100), nullable=False, server_default=""),
)

health_probes = sa.Table(
    "health_probes", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("status_class", sa.String(64), nullable=False),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quality_flags", sa.String(255), nullable=False, server_default=""),
    sa.Column("message", sa.String(500), nullable=False, server_default=""),
    sa.Column("worker", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
)

feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("workflow_id", sa.String(255), nullable=False),
    sa.Column("positive", sa.Boolean, nullable=False),
    sa.Column("target", sa.String(255), nullable=False, server_default=""),
    sa.Column("seq", sa.Integer, nullable=True),
    sa.Column("try_no", sa.Integer, nullable=True),
    sa.Column("task_type", sa.String(100), nullable=False, server_default=""),
    sa.Column("comment", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("workflow_id", name="uq_feedback_workflow_id"),
)
