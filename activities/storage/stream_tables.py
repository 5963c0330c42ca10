"""Stream events table (Alembic revision ``0008_stream_events``), on the shared ``metadata``.

- ``stream_events``: the database shared channel of live streams (``activities/streams/sql_channel.py``):
  one row per batch line, ``id`` increasing (the readers' cursor), ``stream_key`` (the request's
  workflow id or a conversation turn's key), ``line`` (one JSON event, ``activities/streams/events.py``)
  and ``created_at`` (unix s) for expiry. Rows are deleted ``streams.retain_s`` after they were
  written; they hold the text of answers in flight, like ``payloads`` do, never keys.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

stream_events = sa.Table(
    "stream_events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("stream_key", sa.String(300), nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_stream_events_key_id", "stream_key", "id"),
    sa.Index("ix_stream_events_created", "created_at"),
)
