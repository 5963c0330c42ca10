"""Batch throughput on the embedded default, and what a running batch does to interactive latency.

Set-up (the embedded default of ``switchyard up``): the dev server with a WAL SQLite file, a
SQLite database, ``switchyard worker`` processes (request queue + batch queue), and the provider
simulator at a fixed latency (``--latency-ms``, median; p99 = 1.3x). This process is the client.

1. **Batch alone**: ``--items`` items at ``--concurrency`` -> items/s, and the largest history of
   one run of the batch workflow (continue-as-new keeps it bounded whatever the batch size).
2. **Interactive latency**: sequential requests (``SwitchyardClient.submit``, 50 ms apart) -> p50
   and p99 in ms, per layout measured alone and then while a batch runs (back to back, so each
   ratio compares measurements minutes apart on a shared box). Layouts:
   - *shared queue*: the batch's children on the interactive request queue at the same priority
     (what you get without a batch queue);
   - *own queue, priority 4*: one worker process serving both queues, no CPU target;
   - *own worker*: the batch queue served by a second worker process (the production layout);
   - *gentle*: own queue with the batch at concurrency 5 (the user's throttle);
   - *CPU target*: own queue with ``SWITCHYARD_BATCH_TARGET_CPU`` (``--target-cpu``, 0.7 as
     ``switchyard up`` sets it): the batch worker takes new work only under that machine CPU use.

    python -m bench.batch [--items 600] [--concurrency 20] [--latency-ms 200] [--requests 120]
                          [--target-cpu 0.7] [--layouts shared,own,split,gentle,cpu]

Numbers are for this box (cores shared with the dev server and the simulator), not production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client

from activities.storage.batches import BatchStore
from activities.storage.engine import make_engine
from bench.overhead import start_dev_server
from core.batch import batch_workflow_id
from core.chat import ChatMessage, ChatRequest
from core.request import RequestInput
from core.stats import percentile
from migrations.runner import upgrade
from simulator.server import run_simulator
from worker.batch_client import BatchClient
from worker.settings import REPO_ROOT
from worker.simulated import sim_config_dict
from worker.submit import SwitchyardClient

TARGETS = ["openai/gpt-4o@us-east", "openai/gpt-4o@eu-west", "anthropic/claude-3-5-sonnet@us-east",
           "gemini/gemini-2.0-flash@us-central", "openai/local-llama-3.1-8b@local"]
GAP_S = 0.05


def scenario(latency_ms: float) -> dict[str, Any]:
    return {"name": "bench-batch", "source": "synthetic", "summary": "steady targets", "time_scale": 1, "seed": 3,
            "baseline": {"latency_ms": {"median": latency_ms, "p99": latency_ms * 1.3},
                         "ttft_ms": {"median": 20, "p99": 30}, "output_tokens": {"median": 120, "p99": 200},
                         "error_rate": 0.0},
            "targets": {t: {} for t in TARGETS}, "timeline": []}


class WorkerProc:
    """One ``switchyard worker`` subprocess; ``batch_queue=None`` serves the request queue only."""

    def __init__(self, tmp: Path, env: dict[str, str], queue: str, batch_queue: str | None) -> None:
        self.ready = tmp / f"ready-{uuid.uuid4().hex[:6]}"
        args = ["--batch-task-queue", batch_queue] if batch_queue else ["--no-batch"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "worker", "--config", str(tmp / "switchyard.yaml"), "--task-queue",
             queue, *args, "--ready-file", str(self.ready)], cwd=REPO_ROOT, env=env, start_new_session=True,
            stdout=(tmp / "worker.log").open("ab"), stderr=subprocess.STDOUT)

    async def wait_ready(self) -> None:
        while not self.ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError("worker exited; see worker.log")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=40)


def write_items(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({
        "template": "Draft a two-paragraph renewal letter to {customer} about contract {contract}.",
        "variables": {"customer": f"Customer {i}", "contract": f"C-{i:05d}"}, "max_tokens": 200}) + "\n"
        for i in range(n)))
    return path


async def interactive(sy: SwitchyardClient, stop: asyncio.Event | None, n: int) -> list[float]:
    """Sequential request latencies (ms): ``n`` requests, or until ``stop`` is set (at least 10)."""
    inp = RequestInput(request=ChatRequest(messages=[
        ChatMessage(role="user", content="Where is my refill order NW-48213?")], max_tokens=100),
        task_type="support_reply")
    out: list[float] = []
    while len(out) < n and not (stop is not None and stop.is_set() and len(out) >= 10):
        t = time.perf_counter()
        await sy.submit(inp, eager=False)
        out.append((time.perf_counter() - t) * 1000)
        await asyncio.sleep(GAP_S)
    return out


async def run_batch(bc: BatchClient, tmp: Path, n: int, concurrency: int, **options: Any) -> tuple[float, str]:
    """Load and run a batch of ``n`` items; (items/s, batch id)."""
    info, _ = await bc.load(write_items(tmp / f"b-{uuid.uuid4().hex[:6]}.jsonl", n))
    await bc.start(info.batch_id, concurrency=concurrency, **options)
    summary = await bc.wait(info.batch_id)
    assert summary.done == n, summary
    return summary.ran / summary.elapsed_s, info.batch_id


async def largest_run(client: Client, batch_id: str) -> tuple[int, int]:
    """(events in the largest run of the batch workflow, number of runs)."""
    wid = batch_workflow_id(batch_id)
    sizes = []
    async for wf in client.list_workflows(f"WorkflowId = '{wid}'"):
        sizes.append(len((await client.get_workflow_handle(wid, run_id=wf.run_id).fetch_history()).events))
    return max(sizes), len(sizes)


async def with_batch(bc: BatchClient, sy: SwitchyardClient, tmp: Path, n: int, concurrency: int,
                     requests: int, **options: Any) -> tuple[list[float], float]:
    stop = asyncio.Event()
    batch = asyncio.create_task(run_batch(bc, tmp, n, concurrency, **options))
    batch.add_done_callback(lambda _: stop.set())
    await asyncio.sleep(2.0)  # let the window fill
    lat = await interactive(sy, stop, requests)
    rate, _ = await batch
    return lat, rate


async def main(a: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        db = f"sqlite:///{tmp / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, db)
        (tmp / "s.yaml").write_text(yaml.safe_dump(scenario(a.latency_ms)))
        env = await start_dev_server(tmp)
        async with env, run_simulator(str(tmp / "s.yaml"), port=0) as sim:
            (tmp / "switchyard.yaml").write_text(yaml.safe_dump(sim_config_dict(sim.base_url)))
            penv = {**os.environ, "SWITCHYARD_HOME": str(tmp), "DATABASE_URL": db, "OTEL_TRACES_EXPORTER": "none",
                    "TEMPORAL_ADDRESS": env.client.service_client.config.target_host}
            engine = make_engine(db)
            try:
                await run_all(a, env.client, BatchStore(engine), tmp, penv)
            finally:
                await engine.dispose()


#: name -> (label, workers as (request queue, batch queue or None), batch options)
LAYOUTS: dict[str, tuple[str, list[tuple[str, str | None]], dict[str, Any]]] = {
    "shared": ("batch on the request queue, same priority", [("rq", "bq")], {"child_task_queue": "rq", "priority": 3}),
    "own": ("batch on its own queue, priority 4", [("rq", "bq")], {}),
    "split": ("batch on its own queue and worker process", [("rq", None), ("idle", "bq")], {}),
    "gentle": ("own queue, priority 4, concurrency 5", [("rq", "bq")], {"concurrency": 5}),
    "cpu": ("own queue, priority 4, CPU target (up)", [("rq", "bq")], {"target_cpu": None}),
}


async def run_all(a: argparse.Namespace, client: Client, store: BatchStore, tmp: Path, penv: dict[str, str]) -> None:
    """Throughput first (default layout), then per layout: interactive alone, then with a batch,
    back to back, so each ratio compares measurements taken minutes apart at most."""
    queues = {"rq": "bench-requests", "bq": "bench-batch", "idle": "bench-idle"}
    sy, bc = SwitchyardClient(client, queues["rq"]), BatchClient(client, store, queues["bq"])
    results: dict[str, tuple[list[float], list[float], float]] = {}
    throughput: tuple[float, int, int] = (0.0, 0, 0)
    for name, (_, workers, options) in LAYOUTS.items():
        opts = {k: queues.get(v, v) if isinstance(v, str) else v for k, v in options.items()}
        wenv = penv
        if "target_cpu" in opts:
            opts.pop("target_cpu")
            wenv = {**penv, "SWITCHYARD_BATCH_TARGET_CPU": str(a.target_cpu)}
        if a.layouts and name not in a.layouts.split(",") and name != "own":
            continue
        procs = [WorkerProc(tmp, wenv, queues[r], queues[b] if b else None) for r, b in workers]
        try:
            await asyncio.gather(*(p.wait_ready() for p in procs))
            await interactive(sy, None, 10)  # warm-up
            if name == "own":
                rate, batch_id = await run_batch(bc, tmp, a.items, a.concurrency)
                throughput = (rate, *await largest_run(client, batch_id))
            alone = await interactive(sy, None, a.requests)
            conc = opts.pop("concurrency", a.concurrency)
            busy, rate = await with_batch(bc, sy, tmp, a.items, conc, a.requests, **opts)
            results[name] = (alone, busy, rate)
        finally:
            for p in procs:
                p.stop()
    report(a, throughput, results)


def report(a: argparse.Namespace, throughput: tuple[float, int, int],
           results: dict[str, tuple[list[float], list[float], float]]) -> None:
    rate, events, runs = throughput
    print(f"\nbench/batch: embedded default (dev server on a WAL SQLite file, SQLite database, worker processes), "
          f"provider latency median {a.latency_ms:.0f} ms, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"batch alone: {a.items} items at concurrency {a.concurrency}: {rate:.1f} items/s; "
          f"largest run history {events} events over {runs} run(s)")
    print("\ninteractive latency, sequential requests (ms): alone -> while a batch runs, and the ratio")
    print(f"  {'layout':46}{'p50':>14}{'p99':>16}{'p50 x':>8}{'p99 x':>8}{'batch items/s':>15}")
    for name, (alone, busy, brate) in results.items():
        p50 = (percentile(alone, 50), percentile(busy, 50))
        p99 = (percentile(alone, 99), percentile(busy, 99))
        label = LAYOUTS[name][0] + (f" {a.target_cpu:g}" if name == "cpu" else "")
        print(f"  {label:46}{p50[0]:>6.0f} -> {p50[1]:>4.0f}{p99[0]:>8.0f} -> {p99[1]:>4.0f}"
              f"{p50[1] / p50[0]:>8.2f}{p99[1] / p99[0]:>8.2f}{brate:>15.1f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=600)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--requests", type=int, default=120)
    ap.add_argument("--target-cpu", type=float, default=0.7, help="the cpu layout's SWITCHYARD_BATCH_TARGET_CPU")
    ap.add_argument("--layouts", default="", help="comma-separated subset of: " + ", ".join(LAYOUTS))
    asyncio.run(main(ap.parse_args()))
