"""Cost of a response-cache hit: a request answered from the cache vs the same request walked to
the simulator, next to the floor (an unsandboxed workflow with one no-op local activity, like for
like with ``AIRequestWorkflow``).

Same set-up as ``bench/overhead.py``: embedded dev server (WAL SQLite), SQLite database, one
process hosting the client, a worker and the simulator (1 ms targets), eager start, sequential
requests in interleaved rounds. ``hit - floor`` is what the cache lookup adds to the workflow's
own machinery (issue 13's goal: under 5 ms p50); the lookup's own time inside the planning step is
read from the hit outcome rows (``latency_ms`` of target ``cache``).

    python -m bench.cache_hit [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
import yaml
from temporalio.client import Client
from temporalio.worker import Worker

from activities.storage.tables import outcomes
from bench.floor import UnsandboxedFloorWorkflow, echo
from bench.overhead import MESSAGES, SCENARIO, measure_all, start_dev_server
from core.chat import ChatRequest
from core.request import RequestInput
from core.stats import percentile
from migrations.runner import upgrade
from simulator.server import run_simulator
from worker.config_loader import ConfigHolder
from worker.runtime import Services, build_worker
from worker.simulated import sim_config, sim_config_dict
from worker.submit import SwitchyardClient


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        db = f"sqlite:///{tmpd / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, db)
        (tmpd / "s.yaml").write_text(yaml.safe_dump(SCENARIO))
        env = await start_dev_server(tmpd)
        async with env, run_simulator(str(tmpd / "s.yaml"), port=0) as sim:
            results, lookup = await run_all(env.client, sim.base_url, db, n)
    print_table(results, lookup, n)


async def run_all(client: Client, base_url: str, db: str, n: int) -> tuple[dict[str, dict[str, float]], list[float]]:
    data = sim_config_dict(base_url)
    data["routes"]["support_reply"]["cache"] = {"mode": "exact", "ttl_s": 3600}
    cfg = sim_config(base_url, routes=data["routes"])
    services = Services.open(db, ConfigHolder.fixed(cfg))
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    sy = SwitchyardClient(client, queue)
    req = ChatRequest.model_validate({"messages": MESSAGES, "max_tokens": 200})
    hit_inp = RequestInput(request=req, task_type="support_reply")
    miss_inp = RequestInput(request=req, task_type="support_reply", cache="off")
    async with build_worker(client, services, queue), \
            Worker(client, task_queue=queue + "-floor", workflows=[UnsandboxedFloorWorkflow], activities=[echo]):
        await sy.submit(hit_inp, eager=True)  # stores the entry

        async def hit() -> None:
            res = await sy.submit(hit_inp, eager=True)
            assert res.trace.cache == "hit"

        async def walked() -> None:
            await sy.submit(miss_inp, eager=True)

        async def floor() -> None:
            await client.execute_workflow(UnsandboxedFloorWorkflow.run, "x", id=f"floor-{uuid.uuid4().hex}",
                                          task_queue=queue + "-floor", request_eager_start=True)
        results = await measure_all({"cache hit": hit, "walked (cache off)": walked, "floor unsandboxed": floor},
                                    n, 20)
    async with services.engine.connect() as conn:
        lookup = list((await conn.execute(sa.select(outcomes.c.latency_ms).where(outcomes.c.cache == "hit")))
                      .scalars())
    await services.aclose()
    return results, lookup


def print_table(r: dict[str, dict[str, float]], lookup: list[float], n: int) -> None:
    print(f"\nbench/cache_hit: {n} sequential requests per case (5 interleaved rounds), SQLite, 1 ms targets")
    print(f"{'':24}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for name in ("cache hit", "walked (cache off)", "floor unsandboxed"):
        print(f"{name:24}{r[name]['p50']:>10.1f}{r[name]['p99']:>10.1f}{r[name]['rps']:>10.1f}")
    added = r["cache hit"]["p50"] - r["floor unsandboxed"]["p50"]
    print(f"{'hit - floor':24}{added:>10.1f}{r['cache hit']['p99'] - r['floor unsandboxed']['p99']:>10.1f}")
    print(f"lookup inside planning (outcome rows): p50 {percentile(lookup, 50):.1f} ms, "
          f"p99 {percentile(lookup, 99):.1f} ms over {len(lookup)} hits")
    print(f"hit p50 / walked p50 = {r['cache hit']['p50'] / r['walked (cache off)']['p50']:.2f}x; "
          f"hit - floor p50 {added:.1f} ms (goal < 5 ms: {'met' if added < 5 else 'NOT met'})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300)
    a = ap.parse_args()
    asyncio.run(main(a.requests))
