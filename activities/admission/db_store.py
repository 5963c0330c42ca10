"""Rate-limit buckets in the Switchyard database (``rate_buckets``; SQLite or PostgreSQL).

One transaction per decision: insert the missing buckets full (``ON CONFLICT DO NOTHING``, which
also takes SQLite's write lock first, so concurrent writers queue on the busy timeout instead of
failing to upgrade a read), lock the rows in key order (``SELECT ... FOR UPDATE`` on PostgreSQL;
key order avoids deadlocks between two requests sharing buckets), decide with
:func:`core.ratelimit.take_all`, write the new levels. Clock: this process's ``time.time()``
(replicas on NTP-synced hosts; a skew of a few ms moves refills by ``rate * skew``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.admission.store import StoreUnavailable
from activities.storage.rate_tables import rate_buckets
from activities.storage.upsert import upsert_stmt
from core.ratelimit import BucketSpec, BucketState, Decision, charge, take_all


class DbRateStore:
    """:class:`activities.admission.store.RateStore` on the database. ``clock``: unix s."""

    name = "database"

    def __init__(self, engine: AsyncEngine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    async def take(self, specs: list[BucketSpec]) -> Decision:
        """See :meth:`RateStore.take`."""
        specs = sorted(specs, key=lambda s: s.key)
        try:
            async with self._engine.begin() as conn:
                now = self._clock()
                states = await self._lock(conn, specs, now)
                decision = take_all(states, specs, now)
                if decision.allowed:
                    await self._write(conn, decision.levels, now)
                return decision
        except (SQLAlchemyError, OSError) as e:
            raise StoreUnavailable(f"rate-limit database: {type(e).__name__}") from e

    async def charge(self, specs: list[BucketSpec]) -> None:
        """See :meth:`RateStore.charge`."""
        specs = sorted(specs, key=lambda s: s.key)
        try:
            async with self._engine.begin() as conn:
                now = self._clock()
                states = await self._lock(conn, specs, now)
                await self._write(conn, {s.key: charge(states.get(s.key), s, now) for s in specs}, now)
        except (SQLAlchemyError, OSError) as e:
            raise StoreUnavailable(f"rate-limit database: {type(e).__name__}") from e

    async def aclose(self) -> None:
        """Nothing to close: the engine belongs to the caller."""

    async def _lock(self, conn: AsyncConnection, specs: list[BucketSpec], now: float) -> dict[str, BucketState]:
        rows = [{"bucket_key": s.key, "tokens": s.capacity, "updated_at": now} for s in specs]
        await conn.execute(upsert_stmt(conn, rate_buckets, rows, keys=["bucket_key"], update=[]))
        stmt = (sa.select(rate_buckets).where(rate_buckets.c.bucket_key.in_([s.key for s in specs]))
                .order_by(rate_buckets.c.bucket_key).with_for_update())
        return {r.bucket_key: BucketState(tokens=r.tokens, updated_at=r.updated_at)
                for r in (await conn.execute(stmt)).all()}

    async def _write(self, conn: AsyncConnection, levels: dict[str, float], now: float) -> None:
        stmt = (sa.update(rate_buckets).where(rate_buckets.c.bucket_key == sa.bindparam("k"))
                .values(tokens=sa.bindparam("t"), updated_at=sa.bindparam("u")))
        await conn.execute(stmt, [{"k": k, "t": v, "u": now} for k, v in levels.items()])
