"""Stored Responses API answers (Alembic revision ``0011_apis_responses``), on the shared ``metadata``.

- ``stored_responses``: one row per ``/v1/responses`` answer with ``store`` on: ``id``
  (``resp_...``), ``tenant`` (a ``previous_response_id`` resolves only within its tenant), the
  ``workflow_id`` that produced it, ``messages`` (JSON: the whole chat chain up to and including
  this answer, without ``instructions``, which OpenAI does not carry over), ``body`` (the response
  object as returned), ``created_at`` and ``expires_at`` (unix s; 30 days, as OpenAI keeps them).
  Holds conversation text like ``payloads`` does, never keys.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

stored_responses = sa.Table(
    "stored_responses", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("workflow_id", sa.String(255), nullable=False),
    sa.Column("messages", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_stored_responses_expires", "expires_at"),
)
