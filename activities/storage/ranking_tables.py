"""Ranking tables (Alembic revision ``0006_rankings``), on the shared ``metadata``.

- ``rankings``: one row per written ranking: task type, ``version`` (1, 2, ... per task type),
  mode (``on`` applied by planning, ``shadow`` shown only), unix-second time, the learning run that
  wrote it (unique per task type, so a retried write returns the same version), pinned targets
  and notes (JSON lists).
- ``ranking_entries``: one row per target of a ranking, keyed ``(ranking_id, position)``: rank
  (0 = not ranked: it failed a hard constraint, ``why`` says which), posterior mean score (0..1),
  probability of being best, share of first positions, and the figures behind the score over the
  learning window: samples, successes, success rate, latency p50/p95 and time to first token p50
  (ms), cost per successful answer (USD), quality-flag rate, feedback score (share of thumbs up),
  votes, discounted samples, outcomes left to health (seen while degraded), and the signals a
  change point reset (comma-separated).

The planning cache checks ``max(rankings.id)`` (primary-key index) to notice a new version.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

rankings = sa.Table(
    "rankings", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("task_type", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("pinned", sa.Text, nullable=False, server_default="[]"),
    sa.Column("notes", sa.Text, nullable=False, server_default="[]"),
    sa.UniqueConstraint("task_type", "version", name="uq_rankings_task_version"),
    sa.UniqueConstraint("task_type", "run_id", name="uq_rankings_task_run"),
)

ranking_entries = sa.Table(
    "ranking_entries", metadata,
    sa.Column("ranking_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("rankings.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("p_best", sa.Float, nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("why", sa.String(500), nullable=False, server_default=""),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("successes", sa.Integer, nullable=False),
    sa.Column("success_rate", sa.Float, nullable=True),
    sa.Column("latency_p50_ms", sa.Float, nullable=True),
    sa.Column("latency_p95_ms", sa.Float, nullable=True),
    sa.Column("ttft_p50_ms", sa.Float, nullable=True),
    sa.Column("cost_per_success_usd", sa.Float, nullable=True),
    sa.Column("quality_flag_rate", sa.Float, nullable=True),
    sa.Column("feedback_score", sa.Float, nullable=True),
    sa.Column("votes", sa.Integer, nullable=False),
    sa.Column("effective_samples", sa.Float, nullable=False),
    sa.Column("left_to_health", sa.Integer, nullable=False),
    sa.Column("reset", sa.String(100), nullable=False, server_default=""),
)

#: ``ranking_entries`` columns that hold :class:`core.learning.model.Figures` fields (same names).
FIGURE_COLUMNS = ("samples", "successes", "success_rate", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms",
                  "cost_per_success_usd", "quality_flag_rate", "feedback_score", "votes", "effective_samples",
                  "left_to_health")
