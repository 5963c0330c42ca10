"""Response cache table (Alembic revision ``0009_cache_entries``), on the shared ``metadata``.

- ``cache_entries``: one complete answer per key (``core/cache.py`` :func:`cache_key`: route +
  tenant + normalised request). ``tenant`` and ``route`` are stored beside the key and checked on
  every read (a second fence around tenant isolation). ``body``: the ``chat.completion`` JSON;
  ``cost_usd``: what the original answer cost (USD), reported as the saving of each hit;
  ``created_at`` / ``expires_at`` / ``stale_until`` / ``last_hit_at``: unix s; ``hits``: times
  served. Holds answers like ``payloads`` does, never keys. Bounded: least recently used rows are
  evicted past ``cache_store.max_entries``.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

cache_entries = sa.Table(
    "cache_entries", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("route", sa.String(100), nullable=False),
    sa.Column("source_target", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("stale_until", sa.Float, nullable=False),
    sa.Column("hits", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_hit_at", sa.Float, nullable=False),
    sa.Index("ix_cache_entries_last_hit", "last_hit_at"),
)
