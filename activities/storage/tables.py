"""Database schema (SQLAlchemy Core tables), shared by the stores and the Alembic migrations.

Tables:
- ``outcomes``: one row per provider call (an attempt's try), unique on
  ``(workflow_id, seq, try_no)`` so a retried activity updates its own row instead of adding one.
  Latencies in ms, cost in USD, tokens as counted (or estimated, ``tokens_estimated``).
- ``cooldowns``: target -> unix time (s) until which planning skips it, and why.
- ``payloads``: answers too large for a Temporal payload, stored and passed by reference.

Never stores provider keys or request/response bodies (except ``payloads``, which the caller asked
for). Naming convention on the MetaData so constraint names are stable across SQLite and
PostgreSQL (Alembic's recommendation).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

outcomes = sa.Table(
    "outcomes", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("workflow_id", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("try_no", sa.Integer, nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("model", sa.String(150), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("task_type", sa.String(100), nullable=False),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("status_class", sa.String(64), nullable=False),  # "ok" or an ErrorClass value
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("retry_after_s", sa.Float, nullable=True),  # the server's reset hint, if any
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("ttft_ms", sa.Float, nullable=True),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tokens_estimated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("quality_flags", sa.String(255), nullable=False, server_default=""),
    sa.Column("counts_against_health", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("message", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),  # unix seconds
    # the target's health when the call was made: healthy | degraded | down (revision 0003_health)
    sa.Column("health_state", sa.String(16), nullable=True),
    # an answer served from the response cache: hit | stale, and the cost it saved in USD (0009_cache_entries)
    sa.Column("cache", sa.String(16), nullable=True),
    sa.Column("saved_usd", sa.Float, nullable=False, server_default="0"),
    # the route's prompt variant and stored rewrite sent, the normalisation steps applied (0012_quality_variants)
    sa.Column("prompt_variant", sa.String(100), nullable=True),
    sa.Column("prompt_rewrite", sa.String(32), nullable=True),
    sa.Column("normalized", sa.String(255), nullable=True),
    sa.UniqueConstraint("workflow_id", "run_id", "seq", "try_no", name="uq_outcomes_attempt"),
    sa.Index("ix_outcomes_task_target_time", "task_type", "target", "created_at"),
    sa.Index("ix_outcomes_target_time", "target", "created_at"),
)

cooldowns = sa.Table(
    "cooldowns", metadata,
    sa.Column("target", sa.String(255), primary_key=True),
    sa.Column("until", sa.Float, nullable=False),  # unix seconds
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

payloads = sa.Table(
    "payloads", metadata,
    sa.Column("ref", sa.String(100), primary_key=True),
    sa.Column("workflow_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
