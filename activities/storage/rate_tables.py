"""Rate-limit buckets table (Alembic revision ``0009_shed_rate_buckets``), on the shared ``metadata``.

- ``rate_buckets``: one row per token bucket (``core/ratelimit.py``) of the database store
  (``activities/admission/db_store.py``): ``bucket_key`` (``key:<key id>:requests``,
  ``tenant:<tenant>:tokens``, ...), ``tokens`` (units left at ``updated_at``, may be negative
  after settlement) and ``updated_at`` (unix s). Holds key ids and tenant names, never keys.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

rate_buckets = sa.Table(
    "rate_buckets", metadata,
    sa.Column("bucket_key", sa.String(300), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
