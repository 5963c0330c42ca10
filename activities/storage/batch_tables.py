"""Batch tables (Alembic revision ``0005_batches``), on the shared ``metadata``.

- ``batches``: one row per loaded batch: job id, source name, default task type, tenant, item
  count, state (``loaded``, ``running``, ``completed``), latest retry round, unix-second times.
- ``batch_items``: one row per item, keyed ``(batch_id, n)``: the caller's key, task type, the
  rendered request (OpenAI Chat Completions JSON, the document's prompt), its current status
  (``pending``, ``done``, ``failed``), the round and workflow id that set it.
- ``batch_results``: one row per item and round, unique on ``(batch_id, n, round)`` so a retried
  ``record`` activity overwrites its own row: the answer (response JSON and its text, or a payload
  reference), target, cost (USD), latency (ms), failovers, the attempts of the routing trace
  (JSON), and the error class, status and message of a failed item.

Never stores provider keys. Prompts and answers are stored because generating them is the batch's
purpose; they are the caller's data.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.tables import metadata

batches = sa.Table(
    "batches", metadata,
    sa.Column("batch_id", sa.String(120), primary_key=True),
    sa.Column("source", sa.String(500), nullable=False, server_default=""),
    sa.Column("task_type", sa.String(100), nullable=True),
    sa.Column("tenant", sa.String(100), nullable=False, server_default="default"),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("state", sa.String(20), nullable=False, server_default="loaded"),
    sa.Column("round", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

batch_items = sa.Table(
    "batch_items", metadata,
    sa.Column("batch_id", sa.String(120), primary_key=True),
    sa.Column("n", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=True),
    sa.Column("task_type", sa.String(100), nullable=True),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
    sa.Column("round", sa.Integer, nullable=False, server_default="0"),
    sa.Column("workflow_id", sa.String(255), nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_batch_items_batch_status_n", "batch_id", "status", "n"),
)

batch_results = sa.Table(
    "batch_results", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(120), nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("workflow_id", sa.String(255), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # done | failed
    sa.Column("target", sa.String(255), nullable=True),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("response", sa.Text, nullable=True),  # chat.completion JSON
    sa.Column("response_ref", sa.String(100), nullable=True),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
    sa.Column("failovers", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Text, nullable=False, server_default="[]"),  # JSON list of AttemptRecord
    sa.Column("error_class", sa.String(64), nullable=True),
    sa.Column("error_status", sa.Integer, nullable=True),
    sa.Column("error_message", sa.String(1000), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("batch_id", "n", "round", name="uq_batch_results_item_round"),
)
