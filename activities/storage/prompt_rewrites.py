"""Stored prompt rewrites (``prompt_rewrites``): look up, claim, finish, list, review.

A rewrite is claimed before it is written, so one process writes each key: :meth:`claim` inserts
a ``pending`` row if none exists, or takes over a row whose status and age say it needs a new
rewrite (``core/prompt_transform.py`` :func:`needs_rewrite`), guarded by the row's ``updated_at``
so two processes never both win. Times in unix seconds, latency in ms, cost in USD.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.prompt_tables import prompt_rewrites
from core.prompt_transform import needs_rewrite, rewrite_id


class RewriteRow(BaseModel):
    """One row of ``prompt_rewrites`` (see ``activities/storage/prompt_tables.py``)."""

    id: str
    route: str
    family: str
    source_hash: str
    source_text: str
    text: str | None = None
    status: str
    by_target: str
    cost_usd: float = 0.0
    latency_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""
    created_at: float
    updated_at: float
    reviewed_at: float | None = None


class RewriteStore:
    """Reads and writes ``prompt_rewrites`` through an injected async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, route: str, family: str, digest: str) -> RewriteRow | None:
        """The rewrite of this key, or ``None``."""
        return await self.by_id(rewrite_id(route, family, digest))

    async def by_id(self, rid: str) -> RewriteRow | None:
        """The rewrite with this id (or unique id prefix of at least 4 chars), or ``None``."""
        where = prompt_rewrites.c.id == rid if len(rid) >= 12 else prompt_rewrites.c.id.startswith(rid)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(prompt_rewrites).where(where).limit(2))).mappings().all()
        return RewriteRow(**rows[0]) if len(rows) == 1 and len(rid) >= 4 else None

    async def claim(self, route: str, family: str, digest: str, source: str, by: str, now: float) -> bool:
        """Mark the key ``pending`` for this process; ``False`` when another rewrite exists or is
        being written (see module docstring)."""
        rid = rewrite_id(route, family, digest)
        values: dict[str, Any] = {"id": rid, "route": route, "family": family, "source_hash": digest,
                                  "source_text": source, "status": "pending", "by_target": by,
                                  "created_at": now, "updated_at": now}
        async with self._engine.begin() as conn:
            # no conflict target: the id and the (route, family, source_hash) key are both unique, and
            # two racing inserts may trip either first (PostgreSQL checks the key's index too)
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            res = await conn.execute(dialect.insert(prompt_rewrites).values(values).on_conflict_do_nothing())
            if res.rowcount == 1:
                return True
            row = (await conn.execute(sa.select(prompt_rewrites.c.status, prompt_rewrites.c.updated_at)
                                      .where(prompt_rewrites.c.id == rid))).first()
            if row is None or not needs_rewrite(row.status, now - row.updated_at):
                return False
            took = await conn.execute(sa.update(prompt_rewrites).where(
                prompt_rewrites.c.id == rid, prompt_rewrites.c.updated_at == row.updated_at).values(
                status="pending", by_target=by, updated_at=now, error=""))
            return took.rowcount == 1

    async def finish(self, rid: str, *, status: str, text: str | None, cost_usd: float, latency_ms: float,
                     prompt_tokens: int, completion_tokens: int, error: str, now: float) -> None:
        """Store the outcome of a claimed rewrite (``draft`` with its text, or ``failed``)."""
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(prompt_rewrites).where(prompt_rewrites.c.id == rid).values(
                status=status, text=text, cost_usd=cost_usd, latency_ms=latency_ms, prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens, error=error[:500], updated_at=now))

    async def review(self, rid: str, status: str, now: float, text: str | None = None) -> RewriteRow | None:
        """Set a reviewed status (``pinned`` or ``rejected``; ``text`` replaces the rewrite, e.g. an
        edited one); returns the row, or ``None`` when no rewrite has this id."""
        row = await self.by_id(rid)
        if row is None:
            return None
        values: dict[str, Any] = {"status": status, "reviewed_at": now, "updated_at": now}
        if text is not None:
            values["text"] = text
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(prompt_rewrites).where(prompt_rewrites.c.id == row.id).values(**values))
        return await self.by_id(row.id)

    async def list(self, route: str | None = None, status: str | None = None) -> list[RewriteRow]:
        """Rewrites, newest first, optionally of one route and/or status."""
        q = sa.select(prompt_rewrites).order_by(prompt_rewrites.c.updated_at.desc())
        if route:
            q = q.where(prompt_rewrites.c.route == route)
        if status:
            q = q.where(prompt_rewrites.c.status == status)
        async with self._engine.connect() as conn:
            return [RewriteRow(**r) for r in (await conn.execute(q)).mappings().all()]
