"""What quality across failover costs per request: prompt variants, the stored-rewrite lookup of
``prompts.transform`` and output normalisation, against the same route without them.

Same set-up as ``bench/overhead.py``: embedded dev server (WAL SQLite), SQLite database, one
process hosting the client, a worker and the simulator (1 ms targets), eager start, sequential
requests in interleaved rounds. Four routes with the same one-target chain: ``plain`` (nothing),
``variants`` (a variant with variables and two few-shot turns), ``rewrite`` (variants plus a stored
draft rewrite, used: one indexed read per attempt, no model call), ``normalize`` (preamble, sign-off,
markdown and length steps on every answer). Also the pure normalisers' own time on a 1.2 KB answer.

    python -m bench.quality [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from temporalio.client import Client

from activities.storage.prompt_rewrites import RewriteStore
from bench.overhead import MESSAGES, SCENARIO, measure_all, start_dev_server
from core.chat import ChatRequest
from core.normalize import normalize_text
from core.normalize_config import NormalizeConfig
from core.request import RequestInput
from migrations.runner import upgrade
from simulator.server import run_simulator
from worker.config_loader import ConfigHolder, parse_config
from worker.runtime import Services, build_worker
from worker.simulated import sim_config_dict
from worker.submit import SwitchyardClient

PROMPTS = {"system": "You answer {company}'s customers.", "variables": {"company": "Acme"},
           "variants": {"gpt-*": {"system": "# Role\nYou answer {company}'s customers in short bullets.",
                                  "few_shot": [{"user": "Where is my refill?", "assistant": "Which order?"}]}}}
NORMALIZE = {"strip_preamble": True, "strip_signoff": True, "markdown": "plain", "max_chars": 4000}
ROUTES = {"plain": {}, "variants": {"prompts": PROMPTS},
          "rewrite": {"prompts": {**PROMPTS, "transform": {"by": "openai/gpt-4o@eu-west", "use": "draft"}}},
          "normalize": {"normalize": NORMALIZE}}
ANSWER = ("Sure! Here is the answer:\n\n" + "**Your refill** ships on Monday from the Elm Street pharmacy. " * 18
          + "\n\nLet me know if you have any other questions!")


def normalizer_us(n: int = 2000) -> float:
    """Mean µs of :func:`normalize_text` with every prose step on, over ``ANSWER`` (about 1.2 KB)."""
    cfg = NormalizeConfig(**NORMALIZE)
    started = time.perf_counter()
    for _ in range(n):
        normalize_text(ANSWER, cfg, json_answer=False)
    return (time.perf_counter() - started) / n * 1e6


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        db = f"sqlite:///{tmpd / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, db)
        (tmpd / "s.yaml").write_text(yaml.safe_dump(SCENARIO))
        env = await start_dev_server(tmpd)
        async with env, run_simulator(str(tmpd / "s.yaml"), port=0) as sim:
            results = await run_all(env.client, sim.base_url, db, n)
    print_table(results, n, normalizer_us())


async def run_all(client: Client, base_url: str, db: str, n: int) -> dict[str, dict[str, float]]:
    data = sim_config_dict(base_url)
    data["routes"] = {name: {"chain": ["openai/gpt-4o@us-east"], **extra} for name, extra in ROUTES.items()}
    data["default_route"] = "plain"
    services = Services.open(db, ConfigHolder.fixed(parse_config(yaml.safe_dump(data), "bench")))
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    sy = SwitchyardClient(client, queue)
    req = ChatRequest.model_validate({"messages": MESSAGES, "max_tokens": 200})
    async with build_worker(client, services, queue):
        await sy.submit(RequestInput(request=req, task_type="rewrite"))  # writes the rewrite in the background
        assert services.prompts is not None
        await services.prompts.drain()
        assert [r.status for r in await RewriteStore(services.engine).list("rewrite")] == ["draft"]

        def case(route: str):
            async def call() -> None:
                res = await sy.submit(RequestInput(request=req, task_type=route), eager=True)
                assert route != "rewrite" or res.trace.attempts[-1].rewrite is not None
            return call
        results = await measure_all({name: case(name) for name in ROUTES}, n, 20)
    await services.aclose()
    return results


def print_table(r: dict[str, dict[str, float]], n: int, norm_us: float) -> None:
    print(f"\nbench/quality: {n} sequential requests per route (5 interleaved rounds), SQLite, 1 ms targets")
    print(f"{'':12}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}{'p50 - plain':>14}")
    for name in ROUTES:
        print(f"{name:12}{r[name]['p50']:>10.1f}{r[name]['p99']:>10.1f}{r[name]['rps']:>10.1f}"
              f"{r[name]['p50'] - r['plain']['p50']:>14.1f}")
    print(f"normalize_text on a {len(ANSWER)}-char answer, every prose step on: {norm_us:.0f} µs per answer")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300)
    a = ap.parse_args()
    asyncio.run(main(a.requests))
