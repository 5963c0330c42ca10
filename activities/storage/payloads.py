"""Claim-check store for payloads too large for Temporal's history.

Temporal rejects payloads over 2 MB and warns over 512 KB (``shared/TEMPORAL.md`` section 4); an
answer above :data:`INLINE_LIMIT_BYTES` is stored here and the workflow carries only its
reference (``pl-<uuid>``), so a large answer never makes a workflow task fail and retry forever.
"""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.tables import payloads

#: Answers larger than this (bytes of JSON) go to the store instead of into history.
INLINE_LIMIT_BYTES = 256 * 1024


class PayloadNotFound(KeyError):
    """No stored payload has this reference."""


class PayloadStore:
    """Put and get large payloads by reference."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, workflow_id: str, kind: str, body: bytes) -> str:
        """Store ``body`` and return its reference."""
        ref = f"pl-{uuid.uuid4().hex}"
        async with self._engine.begin() as conn:
            await conn.execute(sa.insert(payloads).values(
                ref=ref, workflow_id=workflow_id, kind=kind, size_bytes=len(body), body=body,
                created_at=time.time()))
        return ref

    async def get(self, ref: str) -> bytes:
        """The stored bytes; raises :class:`PayloadNotFound`."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(payloads.c.body).where(payloads.c.ref == ref))).first()
        if row is None:
            raise PayloadNotFound(ref)
        return bytes(row.body)
