"""CPU per request of HTTP clients at several concurrency levels, against the simulator.

Why the provider client runs on aiohttp (``activities/providers/aiohttp_transport.py``) and why the
benches' load generator is aiohttp (``bench/gateway.py`` :func:`load_client`): httpx's own pool
costs the caller CPU per request that grows with the requests in flight (encode/httpx#3215), which
on a 2-core box is CPU taken from every other process. One simulator process (answers in ~1 ms) in
its own process; this process sends ``--requests`` POSTs per client and level, closed loop, and
reads its own CPU time (``time.process_time``) around each run.

Clients: ``httpx`` = the provider client with httpx's transport (``SWITCHYARD_PROVIDER_TRANSPORT=httpx``),
``httpx+aiohttp`` = the provider client as shipped, ``aiohttp`` = a bare aiohttp session (the floor).

    python -m bench.client_cost [--requests 600] [--levels 1,8,32,128]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import yaml

from activities.providers.http import make_http_client
from bench.gateway import BODY, free_port, load_client, spawn_simulator, stop, wait_http
from bench.overhead import SCENARIO
from core.stats import percentile


async def _drive(call: Callable[[], Awaitable[None]], n: int, c: int) -> tuple[float, float, float, float]:
    """``(p50 ms, p99 ms, req/s, CPU ms per request of this process)`` for ``n`` calls at ``c`` in flight."""
    await asyncio.gather(*(call() for _ in range(2 * c)))  # warm-up: open the connections
    lat: list[float] = []
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            t = time.perf_counter()
            await call()
            lat.append((time.perf_counter() - t) * 1000)
    t0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(c)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return percentile(lat, 50), percentile(lat, 99), n / elapsed, 1000 * cpu / n


async def _provider_client(transport: str, url: str, n: int, c: int) -> tuple[float, float, float, float]:
    os.environ["SWITCHYARD_PROVIDER_TRANSPORT"] = transport
    async with make_http_client() as http:
        async def call() -> None:
            r = await http.post(url, json=BODY, timeout=httpx.Timeout(15, connect=5))
            r.raise_for_status()
            r.json()
        return await _drive(call, n, c)


async def _aiohttp(url: str, n: int, c: int) -> tuple[float, float, float, float]:
    async with load_client(2 * c) as http:
        async def call() -> None:
            async with http.post(url, json=BODY) as r:
                r.raise_for_status()
                await r.json()
        return await _drive(call, n, c)


async def run(n: int, levels: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        (tmpd / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
        port = free_port()
        sim = spawn_simulator(tmpd / "scenario.yaml", port, tmpd / "sim.log")
        try:
            await wait_http(f"http://127.0.0.1:{port}/_sim/state", sim, 30, tmpd / "sim.log")
            url = f"http://127.0.0.1:{port}/r/us-east/v1/chat/completions"
            print(f"bench/client_cost: {n} requests per client and level; load average "
                  f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
            print(f"{'conc':>5} {'client':<14} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'CPU ms/req':>11}")
            for c in levels:
                runs = {"httpx": _provider_client("httpx", url, n, c),
                        "httpx+aiohttp": _provider_client("aiohttp", url, n, c), "aiohttp": _aiohttp(url, n, c)}
                for name, coro in runs.items():
                    p50, p99, rps, cpu = await coro
                    print(f"{c:>5} {name:<14} {p50:>8.1f} {p99:>8.1f} {rps:>7.0f} {cpu:>11.2f}")
        finally:
            stop(sim)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--levels", default="1,8,32,128")
    a = ap.parse_args()
    try:
        asyncio.run(run(a.requests, [int(x) for x in a.levels.split(",")]))
    except aiohttp.ClientError as e:
        sys.exit(f"bench/client_cost: {e}")
