"""Response cache storage: the database table (durable, embedded default) and an optional Redis hot tier.

Reads go to this process's memory tier first (``cache_memory.py``: a few seconds, bounded; off
with ``memory_entries: 0``), then Redis, then the database (a database hit is written back to Redis: read-through);
writes go to both (write-through). Every backend error is logged and treated as a miss (a read) or
skipped (a write): the cache never fails a request. After a Redis error the hot tier is skipped for
``REDIS_BACKOFF_S`` so a down Redis costs one failed connect per back-off, not one per request.

Bounded: every ``evict_every`` stores, rows past ``max_entries`` are deleted, least recently used
(``last_hit_at``) first; Redis entries expire at their ``stale_until`` (``PX``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.cache_memory import MemoryTier
from activities.storage.cache_tables import cache_entries
from activities.storage.upsert import upsert_template

log = logging.getLogger("switchyard.cache")

#: Seconds the Redis tier is skipped after one of its errors.
REDIS_BACKOFF_S = 5.0
_REDIS_PREFIX = "switchyard:cache:"


class CacheEntry(BaseModel):
    """One stored answer (see ``activities/storage/cache_tables.py`` for the fields; times in unix s)."""

    key: str
    tenant: str
    route: str
    source_target: str
    body: str
    cost_usd: float = 0.0
    created_at: float
    expires_at: float
    stale_until: float
    hits: int = 0
    last_hit_at: float


class CacheStore:
    """Entries in the database through ``engine``; ``redis``: a ``redis.asyncio.Redis`` client for
    the hot tier (``None``: database only). ``clock``: monotonic s (the Redis back-off).
    ``memory_entries`` / ``memory_ttl_s``: the in-process tier's bound and life (0: none)."""

    def __init__(self, engine: AsyncEngine, *, redis: Any = None, max_entries: int = 100_000,
                 evict_every: int = 100, clock=time.monotonic, memory_entries: int = 0,
                 memory_ttl_s: float = 5.0) -> None:
        self._engine = engine
        self._memory = MemoryTier(memory_entries, memory_ttl_s, clock=clock)
        self._redis = redis
        self._max = max_entries
        self._evict_every = evict_every
        self._puts = 0
        self._clock = clock
        self._redis_off_until = 0.0

    @classmethod
    def from_url(cls, engine: AsyncEngine, redis_url: str | None, **kw: Any) -> CacheStore:
        """A store with a Redis hot tier at ``redis_url`` (``None``: none). Connecting is lazy."""
        client = None
        if redis_url:
            import redis.asyncio as redis  # optional dependency, imported only when configured

            client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
        return cls(engine, redis=client, **kw)

    async def get(self, key: str, tenant: str, route: str) -> CacheEntry | None:
        """The entry of ``key`` if it exists for this tenant and route (expired ones included: the
        caller decides fresh/stale); ``None`` on a miss or a backend error."""
        entry = self._memory.get(key)
        if entry is None:
            entry = await self._redis_get(key)
            if entry is None:
                entry = await self._db_get(key)
                if entry is not None:
                    await self._redis_set(entry)
            if entry is not None:
                self._memory.put(entry)
        if entry is None or entry.tenant != tenant or entry.route != route:
            return None
        return entry

    async def put(self, entry: CacheEntry) -> None:
        """Store (or replace) the entry in both tiers; errors are logged, never raised."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(upsert_template(conn.dialect.name, cache_entries, ("key",)), entry.model_dump())
        except Exception as e:  # noqa: BLE001 - a cache outage is a skipped store, never a failed request
            log.warning("cache store failed (database): %s", type(e).__name__)
        await self._redis_set(entry)
        self._memory.put(entry)
        self._puts += 1
        if self._puts % self._evict_every == 0:
            await self.evict()

    def clear_memory(self) -> None:
        """Drop this process's in-memory copies: the next read of each entry goes to Redis or the
        database (after entries were changed there from outside, e.g. by an operator)."""
        self._memory.clear()

    async def served(self, entry: CacheEntry) -> None:
        """Record that ``entry`` was served (its ``hits``, ``last_hit_at`` and ``expires_at``
        already updated by the caller) in both tiers; errors are logged, never raised."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(sa.update(cache_entries).where(cache_entries.c.key == entry.key).values(
                    hits=entry.hits, last_hit_at=entry.last_hit_at, expires_at=entry.expires_at,
                    stale_until=entry.stale_until))
        except Exception as e:  # noqa: BLE001
            log.warning("cache hit update failed (database): %s", type(e).__name__)
        await self._redis_set(entry)
        self._memory.update(entry)

    async def evict(self) -> int:
        """Delete the least recently used rows past ``max_entries``; returns how many went."""
        try:
            async with self._engine.begin() as conn:
                count = (await conn.execute(sa.select(sa.func.count()).select_from(cache_entries))).scalar_one()
                extra = count - self._max
                if extra <= 0:
                    return 0
                oldest = sa.select(cache_entries.c.key).order_by(cache_entries.c.last_hit_at).limit(extra)
                await conn.execute(sa.delete(cache_entries).where(cache_entries.c.key.in_(oldest.scalar_subquery())))
                return extra
        except Exception as e:  # noqa: BLE001
            log.warning("cache eviction failed: %s", type(e).__name__)
            return 0

    async def _db_get(self, key: str) -> CacheEntry | None:
        try:
            async with self._engine.connect() as conn:
                q = sa.select(cache_entries).where(cache_entries.c.key == key)
                row = (await conn.execute(q)).mappings().first()
        except Exception as e:  # noqa: BLE001 - a cache outage is a miss
            log.warning("cache lookup failed (database): %s", type(e).__name__)
            return None
        return CacheEntry(**row) if row is not None else None

    def _redis_usable(self) -> bool:
        return self._redis is not None and self._clock() >= self._redis_off_until

    def _redis_failed(self, e: Exception) -> None:
        log.warning("cache Redis tier failed, skipped for %.0f s: %s", REDIS_BACKOFF_S, type(e).__name__)
        self._redis_off_until = self._clock() + REDIS_BACKOFF_S

    async def _redis_get(self, key: str) -> CacheEntry | None:
        if not self._redis_usable():
            return None
        try:
            raw = await self._redis.get(_REDIS_PREFIX + key)
        except Exception as e:  # noqa: BLE001 - Redis down is a miss of the hot tier
            self._redis_failed(e)
            return None
        return CacheEntry.model_validate_json(raw) if raw else None

    async def _redis_set(self, entry: CacheEntry) -> None:
        if not self._redis_usable():
            return
        ttl_ms = int((entry.stale_until - time.time()) * 1000)
        if ttl_ms <= 0:
            return
        try:
            await self._redis.set(_REDIS_PREFIX + entry.key, entry.model_dump_json(), px=ttl_ms)
        except Exception as e:  # noqa: BLE001
            self._redis_failed(e)

    async def aclose(self) -> None:
        """Close the Redis client (if any)."""
        if self._redis is not None:
            await self._redis.aclose()
