"""Cache storage tiers on real backends: Redis (127.0.0.1:6379) as the shared hot tier, and a down
backend (Redis at a closed port, the database table gone) meaning misses, never failed requests."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as redis
import sqlalchemy as sa

from activities.storage.cache_store import CacheEntry, CacheStore
from activities.storage.cache_tables import cache_entries
from tests.cache.conftest import cached_gateway
from tests.gateway.conftest import chat

URL = "/v1/chat/completions"
REDIS_URL = "redis://127.0.0.1:6379/0"
CLOSED_PORT_URL = "redis://127.0.0.1:6399/0"  # nothing listens here


async def _redis_up() -> bool:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        return bool(await client.ping())
    except Exception:  # noqa: BLE001
        return False
    finally:
        await client.aclose()


async def test_redis_hot_tier_serves_an_entry_the_database_no_longer_has(temporal_env, db_url, sim, engine) -> None:
    if not await _redis_up():
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    tenant = f"t{uuid.uuid4().hex[:8]}"  # Redis is shared with other runs: a tenant of our own
    headers = {"x-switchyard-tenant": tenant}
    store = {"redis_url": REDIS_URL, "memory_entries": 0}  # no in-process tier: the hit must come from Redis
    async with cached_gateway(temporal_env.client, sim, db_url, store=store) as gw:
        assert (await gw.http.post(URL, json=chat(), headers=headers)).headers["x-switchyard-cache"] == "miss"
        async with engine.begin() as conn:
            await conn.execute(sa.delete(cache_entries).where(cache_entries.c.tenant == tenant))
        hit = await gw.http.post(URL, json=chat(), headers=headers)
        assert hit.headers["x-switchyard-cache"] == "hit"  # from Redis (write-through on store)
        other = await gw.http.post(URL, json=chat(), headers={"x-switchyard-tenant": tenant + "x"})
        assert other.headers["x-switchyard-cache"] == "miss"


async def test_redis_down_means_misses_and_answers(temporal_env, db_url, sim) -> None:
    async with cached_gateway(temporal_env.client, sim, db_url, store={"redis_url": CLOSED_PORT_URL}) as gw:
        first = await gw.http.post(URL, json=chat())
        assert first.status_code == 200 and first.headers["x-switchyard-cache"] == "miss"
        second = await gw.http.post(URL, json=chat())  # the database tier still works
        assert second.status_code == 200 and second.headers["x-switchyard-cache"] == "hit"


async def test_database_tier_down_means_misses_not_errors(engine) -> None:
    store = CacheStore(engine)
    name = f"cache_entries_moved_{uuid.uuid4().hex[:6]}"
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"ALTER TABLE cache_entries RENAME TO {name}"))
    try:
        entry = CacheEntry(key="k" * 64, tenant="acme", route="support_reply", source_target="openai/gpt-4o@us-east",
                           body="{}", created_at=1.0, expires_at=2.0, stale_until=3.0, last_hit_at=1.0)
        await store.put(entry)  # logged, not raised
        assert await store.get(entry.key, "acme", "support_reply") is None
        assert await store.evict() == 0
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"ALTER TABLE {name} RENAME TO cache_entries"))


async def test_eviction_keeps_the_most_recently_used_entries(engine) -> None:
    store = CacheStore(engine, max_entries=10, evict_every=1000)
    for i in range(15):
        await store.put(CacheEntry(key=f"{i:064d}", tenant="acme", route="r", source_target="p/m@x", body="{}",
                                   created_at=i, expires_at=1e12, stale_until=1e12, last_hit_at=float(i)))
    assert await store.evict() == 5
    async with engine.connect() as conn:
        keys = (await conn.execute(sa.select(cache_entries.c.key))).scalars().all()
    assert sorted(int(k) for k in keys) == list(range(5, 15))
