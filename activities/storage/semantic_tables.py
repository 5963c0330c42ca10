"""Semantic cache index rows (Alembic revision ``0012_semantic_cache``), on the shared ``metadata``.

- ``semantic_entries``: one row per question embedded on a miss of a semantic-cache route
  (``core/semantic.py``): ``partition`` (:func:`core.semantic.partition_key`: route + tenant +
  the rest of the request + embedding model), ``cache_key`` (the exact key its answer is stored
  under in ``cache_entries``, once stored), ``tenant`` / ``route`` beside it (checked again on
  read), the ``question`` text (for the particulars guard), the ``vector`` (float32, little
  endian, L2-normalised), ``created_at`` (unix s). ``id`` orders rows so each process's in-memory
  index (``activities/semantic_index.py``) catches up with rows other replicas wrote. A row whose
  answer was never stored (an error, a flagged answer) or has been evicted matches nothing and is
  deleted with the old rows past ``cache_store.max_entries``.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

semantic_entries = sa.Table(
    "semantic_entries", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("partition", sa.String(64), nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=False),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("route", sa.String(100), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_semantic_entries_partition_id", "partition", "id"),
)
