"""Overhead of a request through Switchyard vs calling the simulator directly, next to the floor.

On the embedded default (dev server with a WAL SQLite file, SQLite database), one process hosting
the client, a worker and the simulator, eager workflow start. Three measurements, each with
sequential requests for latency and concurrent ones for throughput:

- **direct**: one HTTP call to the simulator's OpenAI endpoint (the provider's own time);
- **switchyard**: the same request as an ``AIRequestWorkflow`` (planning + one attempt + outcome
  row + search attributes), started eagerly;
- **floor**: ``bench/floor.py``, a workflow with one local activity that does nothing, in the
  default sandbox; and the same workflow unsandboxed, as ``AIRequestWorkflow`` runs (like for like).

Added latency = switchyard - direct, per percentile. Goal (issue "Durable request path"):
p50 added latency within 1.5x the floor's p50.

    python -m bench.overhead [--requests 300] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import yaml
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.floor import FloorWorkflow, UnsandboxedFloorWorkflow, echo
from core import search_attributes
from core.chat import ChatRequest
from core.request import RequestInput
from core.stats import percentile
from migrations.runner import upgrade
from simulator.server import run_simulator
from worker.config_loader import ConfigHolder
from worker.devserver import temporal_binary
from worker.runtime import Services, build_worker
from worker.simulated import sim_config
from worker.submit import SwitchyardClient

SCENARIO = {
    "name": "bench-overhead", "source": "synthetic", "summary": "constant fast targets", "time_scale": 1,
    "seed": 7, "baseline": {"latency_ms": {"median": 1, "p99": 1.01}, "ttft_ms": {"median": 1, "p99": 1.01},
                            "output_tokens": {"median": 50, "p99": 51}, "error_rate": 0.0},
    "targets": {"openai/gpt-4o@us-east": {}, "openai/gpt-4o@eu-west": {}, "anthropic/claude-3-5-sonnet@us-east": {},
                "gemini/gemini-2.0-flash@us-central": {}, "openai/local-llama-3.1-8b@local": {}},
    "timeline": [],
}
MESSAGES = [{"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "Where is my refill order NW-48213? The app says processing."}]


async def start_dev_server(directory: Path) -> WorkflowEnvironment:
    """The embedded Temporal dev server every bench runs: its SQLite file ``directory/temporal.db``
    in WAL mode (``synchronous=normal``), Switchyard's search attributes, the pydantic converter."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter, dev_server_database_filename=str(directory / "temporal.db"),
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"])


async def latencies(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    """``n`` sequential calls; their latencies in ms."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def throughput(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> float:
    """Completed calls per second for ``n`` calls at ``concurrency`` in flight."""
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            await call()
    t = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return n / (time.perf_counter() - t)


async def measure_all(calls: dict[str, Callable[[], Awaitable[object]]], n: int, concurrency: int,
                      rounds: int = 5) -> dict[str, dict[str, float]]:
    """Latency in ``rounds`` interleaved rounds (so machine noise hits every case alike), then
    throughput per case. Returns name -> {p50, p99 (ms), rps}."""
    lat: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        await latencies(call, 10)  # warm-up
    for _ in range(rounds):
        for name, call in calls.items():
            lat[name] += await latencies(call, max(1, n // rounds))
    return {name: {"p50": percentile(lat[name], 50), "p99": percentile(lat[name], 99),
                   "rps": await throughput(call, n, concurrency)} for name, call in calls.items()}


async def main(n: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        db = f"sqlite:///{tmpd / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, db)
        (tmpd / "s.yaml").write_text(yaml.safe_dump(SCENARIO))
        env = await start_dev_server(tmpd)
        async with env, run_simulator(str(tmpd / "s.yaml"), port=0) as sim:
            results = await run_all(env.client, sim.base_url, db, n, concurrency)
    print_table(results, n, concurrency)


async def run_all(client: Client, base_url: str, db: str, n: int, concurrency: int) -> dict[str, dict[str, float]]:
    services = Services.open(db, ConfigHolder.fixed(sim_config(base_url)))
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    sy = SwitchyardClient(client, queue)
    inp = RequestInput(request=ChatRequest.model_validate({"messages": MESSAGES, "max_tokens": 200}),
                       task_type="support_reply")
    async with httpx.AsyncClient(base_url=base_url) as http, build_worker(client, services, queue), \
            Worker(client, task_queue=queue + "-floor", workflows=[FloorWorkflow, UnsandboxedFloorWorkflow],
                   activities=[echo]):
        async def direct() -> None:
            r = await http.post("/r/us-east/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES,
                                                                         "max_tokens": 200})
            r.raise_for_status()

        async def through() -> None:
            await sy.submit(inp, eager=True)

        async def floor() -> None:
            await client.execute_workflow(FloorWorkflow.run, "x", id=f"floor-{uuid.uuid4().hex}",
                                          task_queue=queue + "-floor", request_eager_start=True)
        async def floor_unsandboxed() -> None:
            await client.execute_workflow(UnsandboxedFloorWorkflow.run, "x", id=f"floor-{uuid.uuid4().hex}",
                                          task_queue=queue + "-floor", request_eager_start=True)
        results = await measure_all({"direct": direct, "switchyard": through, "floor": floor,
                                     "floor unsandboxed": floor_unsandboxed}, n, concurrency)
    await services.aclose()
    return results


def print_table(r: dict[str, dict[str, float]], n: int, concurrency: int) -> None:
    added = {q: r["switchyard"][q] - r["direct"][q] for q in ("p50", "p99")}
    print(f"\nbench/overhead: {n} sequential requests per case for latency (5 interleaved rounds), "
          f"{n} at concurrency {concurrency} for throughput")
    print(f"{'':24}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for name in ("direct", "switchyard", "floor", "floor unsandboxed"):
        print(f"{name:24}{r[name]['p50']:>10.1f}{r[name]['p99']:>10.1f}{r[name]['rps']:>10.1f}")
    print(f"{'added by switchyard':24}{added['p50']:>10.1f}{added['p99']:>10.1f}")
    ratio = added["p50"] / r["floor"]["p50"]
    print(f"\nadded p50 / floor p50 = {ratio:.2f}x (goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    like = added["p50"] / r["floor unsandboxed"]["p50"]
    print(f"added p50 / unsandboxed floor p50 = {like:.2f}x (like for like: AIRequestWorkflow runs unsandboxed)")
    print(f"added p99 / floor p99 = {added['p99'] / r['floor']['p99']:.2f}x")
    print(f"throughput switchyard / floor = {r['switchyard']['rps'] / r['floor']['rps']:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=20)
    a = ap.parse_args()
    asyncio.run(main(a.requests, a.concurrency))
