"""The ``prompt_rewrites`` table: system prompts rewritten by a small model per target family.

One row per ``(route, family, source_hash)`` (``core/prompt_transform.py``): the source template
and its rewrite, the model that wrote it, its status (pending | draft | pinned | rejected | failed),
the rewrite call's cost (USD), latency (ms) and tokens, and who reviewed it when. Holds route
prompts from the config, never request or response bodies.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

prompt_rewrites = sa.Table(
    "prompt_rewrites", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("route", sa.String(100), nullable=False),
    sa.Column("family", sa.String(255), nullable=False),
    sa.Column("source_hash", sa.String(16), nullable=False),
    sa.Column("source_text", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("by_target", sa.String(255), nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),  # unix seconds
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("reviewed_at", sa.Float, nullable=True),
    sa.UniqueConstraint("route", "family", "source_hash", name="uq_prompt_rewrites_key"),
)
