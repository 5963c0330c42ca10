"""The database as the shared channel of live streams: the embedded default's cross-process lane.

Works wherever Switchyard's database does (SQLite WAL file, PostgreSQL), with nothing else
installed. ``publish`` appends a batch of lines in one transaction (the publisher flushes every
~20 ms, so a token-by-token stream costs about 50 small inserts per second); ``read`` is one
SELECT over every watched key (``stream_key IN (...) AND id > min(cursor)``), repeated every
``poll_ms`` until something is new or ``block_ms`` has passed, so 1,000 open streams still cost
one query per poll. Cursors are row ids as strings. :meth:`expire` deletes rows older than the
retention (``streams.retain_s``). Latency: a delta waits at most one flush plus one poll
(``docs/STREAMING.md`` has the measurements against Redis Streams).
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.stream_tables import stream_events


class SqlChannel:
    """:class:`activities.streams.channel.SharedChannel` on the Switchyard database."""

    name = "database"

    def __init__(self, engine: AsyncEngine, *, poll_ms: int = 50, clock=time.time) -> None:
        self._engine = engine
        self._poll_s = poll_ms / 1000.0
        self._clock = clock

    async def publish(self, key: str, lines: list[str]) -> None:
        """Append ``lines`` to stream ``key`` in one transaction."""
        if not lines:
            return
        now = self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(stream_events.insert(), [{"stream_key": key, "line": ln, "created_at": now}
                                                        for ln in lines])

    async def read(self, cursors: dict[str, str], block_ms: int) -> dict[str, list[tuple[str, str]]]:
        """New lines per key since its cursor (see module docstring)."""
        if not cursors:
            return {}
        deadline = time.monotonic() + block_ms / 1000.0
        after = {k: int(c or 0) for k, c in cursors.items()}
        low = min(after.values())
        query = (sa.select(stream_events.c.id, stream_events.c.stream_key, stream_events.c.line)
                 .where(stream_events.c.stream_key.in_(list(after)), stream_events.c.id > low)
                 .order_by(stream_events.c.id))
        while True:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            out: dict[str, list[tuple[str, str]]] = {}
            for row_id, key, line in rows:
                if row_id > after[key]:
                    out.setdefault(key, []).append((str(row_id), line))
            if out or time.monotonic() >= deadline:
                return out
            await asyncio.sleep(min(self._poll_s, max(0.0, deadline - time.monotonic())))

    async def expire(self, older_than_s: float) -> int:
        """Delete rows written more than ``older_than_s`` seconds ago; returns how many."""
        async with self._engine.begin() as conn:
            res = await conn.execute(stream_events.delete().where(
                stream_events.c.created_at < self._clock() - older_than_s))
        return res.rowcount or 0

    async def aclose(self) -> None:
        """Nothing to release: the engine belongs to the process's services."""
