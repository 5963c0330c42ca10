"""The shared rate-limit stores on the real database and the real Redis: atomic under concurrency,
all-or-nothing across buckets, settlement, and an unreachable backend reported as such."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from activities.admission.db_store import DbRateStore
from activities.admission.redis_store import RedisRateStore
from activities.admission.store import RateStore, StoreUnavailable
from core.ratelimit import BucketSpec

REDIS_URL = "redis://127.0.0.1:6379/0"


async def redis_up() -> bool:
    """Whether the Redis server the tests use answers."""
    r = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        return bool(await r.ping())
    except (aioredis.RedisError, OSError):
        return False
    finally:
        await r.aclose()


@pytest.fixture(params=["database", "redis"])
async def store(request, engine):  # type: ignore[no-untyped-def]
    if request.param == "redis":
        if not await redis_up():
            pytest.skip("no Redis server at 127.0.0.1:6379")
        s: RateStore = RedisRateStore(REDIS_URL)
    else:
        s = DbRateStore(engine)
    yield s
    await s.aclose()


def _spec(cost: float = 1, capacity: float = 10, key: str | None = None) -> BucketSpec:
    # a refill of one unit per ~11 days: nothing refills while a test runs
    return BucketSpec(key or f"test:{uuid.uuid4().hex}:requests", capacity=capacity, rate_per_s=1e-6, cost=cost)


async def test_concurrent_takes_never_exceed_the_bucket(store: RateStore) -> None:
    spec = _spec()
    decisions = await asyncio.gather(*(store.take([spec]) for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 10
    refused = [d for d in decisions if not d.allowed]
    assert all(d.retry_after_s > 0 for d in refused)


async def test_a_refusal_by_one_bucket_spends_nothing_from_the_others(store: RateStore) -> None:
    requests, tokens = _spec(cost=1, capacity=10), _spec(cost=80, capacity=100)
    assert (await store.take([requests, tokens])).allowed
    refused = await store.take([requests, tokens])  # 20 tokens left < 80
    assert not refused.allowed
    assert refused.levels[requests.key] == pytest.approx(9, abs=1e-3)
    assert refused.levels[tokens.key] == pytest.approx(20, abs=1e-3)
    assert (await store.take([requests])).levels[requests.key] == pytest.approx(8, abs=1e-3)


async def test_settlement_refunds_and_charges(store: RateStore) -> None:
    tokens = _spec(cost=80, capacity=100)
    await store.take([tokens])
    await store.charge([BucketSpec(tokens.key, 100, 1e-6, -50)])  # used 30 of the 80 estimated
    after = await store.take([BucketSpec(tokens.key, 100, 1e-6, 70)])
    assert after.allowed and after.levels[tokens.key] == pytest.approx(0, abs=1e-3)
    await store.charge([BucketSpec(tokens.key, 100, 1e-6, 25)])  # a debt: used more than estimated
    assert (await store.take([BucketSpec(tokens.key, 100, 1e-6, 0)])).levels[tokens.key] == pytest.approx(-25,
                                                                                                        abs=1e-3)


async def test_unreachable_redis_is_reported_not_hidden() -> None:
    dead = RedisRateStore("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(StoreUnavailable, match="Redis"):
            await dead.take([_spec()])
    finally:
        await dead.aclose()
