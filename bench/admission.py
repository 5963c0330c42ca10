"""Cost of one rate-limit decision on each shared store (the time admission adds to a request).

Takes ``--n`` decisions of a request with four buckets (key and tenant, requests and tokens: what
the gateway takes when both limits are set) on each store, one at a time and ``--concurrency`` at
a time, and prints p50/p99 in ms per store: SQLite (the embedded default, a WAL file in a temp
directory), PostgreSQL (``--pg URL``, a database this run creates and drops) and Redis
(``--redis URL``; skipped when unreachable). Limits are high enough that every decision admits.
Figures from a shared box are noisy: read them as orders of magnitude.

    python -m bench.admission [--n 500] [--concurrency 16] [--pg postgresql://root@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from activities.admission.db_store import DbRateStore
from activities.admission.redis_store import RedisRateStore
from activities.admission.store import RateStore, StoreUnavailable
from activities.storage.engine import async_url, make_engine
from core.ratelimit import BucketSpec
from migrations.runner import upgrade


def _specs(i: int) -> list[BucketSpec]:
    key, tenant = f"bench-key-{i % 50}", f"bench-tenant-{i % 10}"
    return [BucketSpec(f"key:{key}:requests", 1e9, 1e7, 1), BucketSpec(f"key:{key}:tokens", 1e12, 1e10, 400),
            BucketSpec(f"tenant:{tenant}:requests", 1e9, 1e7, 1),
            BucketSpec(f"tenant:{tenant}:tokens", 1e12, 1e10, 400)]


async def _measure(store: RateStore, n: int, concurrency: int) -> tuple[list[float], list[float]]:
    serial: list[float] = []
    for i in range(n):
        t0 = time.perf_counter()
        await store.take(_specs(i))
        serial.append((time.perf_counter() - t0) * 1000)
    sem = asyncio.Semaphore(concurrency)
    parallel: list[float] = []

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            await store.take(_specs(i))
            parallel.append((time.perf_counter() - t0) * 1000)
    await asyncio.gather(*(one(i) for i in range(n)))
    return serial, parallel


def _row(name: str, serial: list[float], parallel: list[float], concurrency: int) -> str:
    def q(xs: list[float], p: float) -> float:
        return statistics.quantiles(xs, n=100)[int(p) - 1]
    return (f"{name:<12} serial p50 {q(serial, 50):6.2f} ms  p99 {q(serial, 99):6.2f} ms   "
            f"x{concurrency} p50 {q(parallel, 50):6.2f} ms  p99 {q(parallel, 99):6.2f} ms")


async def main(n: int, concurrency: int, pg: str | None, redis_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, sqlite)
        engine = make_engine(sqlite)
        print(_row("sqlite", *await _measure(DbRateStore(engine), n, concurrency), concurrency))
        await engine.dispose()
    if pg:
        name = f"sy_bench_{uuid.uuid4().hex[:8]}"
        admin = create_async_engine(async_url(pg), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = pg.rsplit("/", 1)[0] + "/" + name
        try:
            await asyncio.to_thread(upgrade, url)
            engine = make_engine(url)
            print(_row("postgresql", *await _measure(DbRateStore(engine), n, concurrency), concurrency))
            await engine.dispose()
        finally:
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    store = RedisRateStore(redis_url)
    try:
        print(_row("redis", *await _measure(store, n, concurrency), concurrency))
    except StoreUnavailable as e:
        print(f"redis        skipped: {e}")
    finally:
        await store.aclose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--pg", default=None, help="PostgreSQL server URL (a database is created and dropped)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    a = ap.parse_args()
    asyncio.run(main(a.n, a.concurrency, a.pg, a.redis))
