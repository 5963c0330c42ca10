"""Drill and eval tables (Alembic revision ``0012_drills_eval``), on the shared ``metadata``.

- ``drill_results``: one row per target of a drill run (``run_id`` = the drill workflow id,
  unique with ``target``, so a retried record writes once): route, role (``primary`` or
  ``backup``), ``passed`` (null for the primary, which is the yardstick), mean score (0..1), the
  primary's mean score, success rate, latency p50/p95 (ms), samples, the missed thresholds (JSON
  list) and the unix-second time. Health views show the latest row per target.
- ``eval_scores``: one row per (run, target) of every eval run and drill: task type, kind
  (``eval`` or ``drill``), samples and the sum of their scores (0..1 each), unix-second time.
  The learning workflow reads it as a quality signal per (task type, target)
  (``activities/storage/learning_queries.py``).
- ``drill_windows``: live-traffic drill windows: from ``starts_at`` to ``ends_at`` (unix s), a
  ``share`` (0..1) of the route's live requests puts ``target`` first (``core/canary.py``);
  planning reads the open ones (``activities/storage/drill_windows.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

drill_results = sa.Table(
    "drill_results", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("route", sa.String(100), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("primary_score", sa.Float, nullable=False),
    sa.Column("success_rate", sa.Float, nullable=False),
    sa.Column("latency_p50_ms", sa.Float, nullable=True),
    sa.Column("latency_p95_ms", sa.Float, nullable=True),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("run_id", "target", name="uq_drill_results_run_target"),
    sa.Index("ix_drill_results_target_created", "target", "created_at"),
)

eval_scores = sa.Table(
    "eval_scores", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("task_type", sa.String(100), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("score_sum", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("run_id", "target", name="uq_eval_scores_run_target"),
    sa.Index("ix_eval_scores_task_created", "task_type", "created_at"),
)

drill_windows = sa.Table(
    "drill_windows", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("route", sa.String(100), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("starts_at", sa.Float, nullable=False),
    sa.Column("ends_at", sa.Float, nullable=False),
    sa.UniqueConstraint("run_id", "target", name="uq_drill_windows_run_target"),
    sa.Index("ix_drill_windows_ends_at", "ends_at"),
)
