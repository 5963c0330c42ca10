"""Learning benchmark: does Switchyard learn which model serves each task best, and re-learn it fast?

World (``bench/learning-world.yaml``): three healthy models and three task types, each model best at
a different task; the configured chain is the same for every task (gpt-4o, claude-sonnet-4,
gemini-flash), so the learner must find two of the three leaders itself. A stream of mixed
requests runs through the real request workflow (dev server, in-process worker, simulator over
loopback), simulated users vote thumbs up with the answering model's true quality for the task
(``feedback_rate`` of the answers get a vote), and after each compressed period a
``LearningWorkflow`` run writes new rankings that planning picks up. At the start of the middle
period gpt-4o becomes worse at contract summaries (``task_quality`` 0.95 -> 0.55 through
``/_sim/apply``), so claude-sonnet-4 becomes the best there.

Printed per period: regret against the oracle ordering (``bench/learning_metrics.py``) with the
static chain's regret beside it, the changed task's regret, exploration share, and the leaders
the run wrote. Then: exploration cost (steady state before the change), regret in the period
after the first post-change run (goal: at most 5%), and time to adapt.

Health is not running in this process (``Services.health`` is ``None``), so the numbers are the
learning layer's alone; the objective weights only success and quality (latency and cost weights
0), so the oracle is defined by the scenario's qualities.

    python -m bench.learning [--periods 10] [--requests 300] [--period 15] [--feedback-rate 0.5] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.providers.http import make_http_client
from activities.storage.cooldowns import CooldownStore
from activities.storage.engine import make_engine
from activities.storage.health import HealthStore
from activities.storage.outcomes import OutcomeStore
from activities.storage.payloads import PayloadStore
from activities.storage.rankings import RankingCache, RankingStore
from bench.learning_metrics import (
    Served,
    Truth,
    explored_share,
    off_oracle_share,
    oracle,
    periods_to_adapt,
    regret,
    static_regret,
)
from core import search_attributes
from core.chat import ChatMessage, ChatRequest
from core.config import SwitchyardConfig
from core.learning.model import LearningInput, LearningResult
from core.request import RequestInput
from migrations.runner import upgrade
from simulator.scenario import load_scenario
from simulator.server import run_simulator
from worker.config_loader import ConfigHolder, parse_config
from worker.devserver import temporal_binary
from worker.runtime import Services, build_worker
from worker.submit import RequestFailed, SwitchyardClient
from workflows.learning import LearningWorkflow

WORLD = Path(__file__).with_name("learning-world.yaml")
A, B, C = "openai/gpt-4o@us-east", "anthropic/claude-sonnet-4@us-east", "gemini/gemini-2.0-flash@us-central"
SHORT = {A: "gpt-4o", B: "sonnet-4", C: "flash"}
CHANGED_TASK, CHANGED_TARGET, CHANGED_QUALITY = "contract_clause_summary", A, 0.55
PROMPTS = {"support_reply": "Where is my refill order NW-48213? The app says processing.",
           "contract_clause_summary": "Summarise clause 12.2 (limitation of liability) for a reviewer.",
           "json_extraction": "Extract sender, date and amount from: 'Invoice 3 May, ACME Ltd, EUR 1,200'."}


def bench_config(base_url: str, period_s: float, prior_strength: float) -> SwitchyardConfig:
    """Three targets, one route per task type (same chain), objective = success + quality."""
    providers = {p: {"protocol": p, "base_url": f"{base_url}/r/{{region}}" + ("/v1" if p == "openai" else ""),
                     "api_key_env": None, "send_task_type": True} for p in ("openai", "anthropic", "gemini")}
    targets = [{"provider": "openai", "model": "gpt-4o", "region": "us-east", "price": {"input": 2.5, "output": 10}},
               {"provider": "anthropic", "model": "claude-sonnet-4", "region": "us-east",
                "price": {"input": 3, "output": 15}},
               {"provider": "gemini", "model": "gemini-2.0-flash", "region": "us-central",
                "price": {"input": 0.1, "output": 0.4}}]
    objective = {"weights": {"success": 1, "quality": 1, "latency": 0, "cost": 0}}
    routes = {t: {"chain": ["openai/gpt-4o", "anthropic/claude-sonnet-4", "gemini/gemini-2.0-flash"],
                  "objective": objective, "deadline_s": 30} for t in PROMPTS}
    data = {"version": 1, "providers": providers, "targets": targets, "routes": routes,
            "default_route": "support_reply", "learning": {"period_s": period_s, "prior_strength": prior_strength}}
    return parse_config(yaml.safe_dump(data), "bench-learning")


def initial_truth() -> Truth:
    profiles = load_scenario(WORLD).task_profiles
    return {task: {t: q.quality for t, q in per.items()} for task, per in profiles.items()}


async def one_request(sy: SwitchyardClient, votes: HealthStore, task: str, vote_u: float, fb_u: float,
                      period: int, truth: Truth, feedback_rate: float) -> Served | None:
    """Submit one request; vote on its answer with probability ``feedback_rate``."""
    req = ChatRequest(messages=[ChatMessage(role="user", content=PROMPTS[task])], max_tokens=150)
    try:
        res = await sy.submit(RequestInput(request=req, task_type=task))
    except RequestFailed:
        return None
    target = res.trace.target_used or ""
    first = res.trace.plan[0] if res.trace.plan else ""
    explored = any("explored" in r for r in res.trace.plan_reasons.get(first, []))
    if fb_u < feedback_rate:
        await votes.record_feedback(res.workflow_id, vote_u < truth[task][target], "", time.time())
    return Served(period, task, target, explored, truth)


async def run_period(sy: SwitchyardClient, votes: HealthStore, rng: random.Random, period: int, truth: Truth,
                     args: argparse.Namespace) -> tuple[list[Served], int]:
    """``args.requests`` requests paced evenly over ``args.period`` seconds; returns served and failed."""
    loop = asyncio.get_running_loop()
    t0, sem = loop.time(), asyncio.Semaphore(args.concurrency)
    draws = [(rng.choice(list(PROMPTS)), rng.random(), rng.random()) for _ in range(args.requests)]

    async def paced(i: int) -> Served | None:
        await asyncio.sleep(max(0.0, t0 + i * args.period / args.requests - loop.time()))
        async with sem:
            return await one_request(sy, votes, *draws[i], period, truth, args.feedback_rate)

    results = await asyncio.gather(*(paced(i) for i in range(args.requests)))
    await asyncio.sleep(max(0.0, t0 + args.period - loop.time()))
    served = [s for s in results if s is not None]
    return served, len(results) - len(served)


async def change_world(base_url: str) -> None:
    step = {"target": CHANGED_TARGET, "set": {"task_quality": {CHANGED_TASK: CHANGED_QUALITY}}}
    async with httpx.AsyncClient() as c:
        (await c.post(f"{base_url}/_sim/apply", json=step)).raise_for_status()


def _row(p: int, served: list[Served], failed: int, leaders: dict[str, str | None], changed: bool) -> str:
    lead = " ".join(f"{t.split('_')[0]}={SHORT.get(v or '', '-')}" for t, v in sorted(leaders.items()))
    return (f"{p:>3} {'*' if changed else ' '} {len(served):>4} {failed:>3} {100 * regret(served):>7.2f} "
            f"{100 * static_regret(served, A):>7.2f} {100 * regret(served, CHANGED_TASK):>8.2f} "
            f"{100 * explored_share(served):>6.1f} {100 * off_oracle_share(served):>6.1f}   {lead}")


def summary(history: list[list[Served]], leaders: list[dict[str, str | None]], truths: list[Truth],
            change: int, period_s: float) -> None:
    steady = [s for p in range(min(2, change), change) for s in history[p]]
    after = history[change + 1] if change + 1 < len(history) else []
    print(f"\nexploration cost (steady state, periods {min(2, change)}..{change - 1}): regret "
          f"{100 * regret(steady):.2f}%, {100 * explored_share(steady):.1f}% of requests explored, "
          f"{100 * off_oracle_share(steady):.1f}% answered by a non-best target")
    print(f"period of the change ({change}, no run has seen it yet): regret {100 * regret(history[change]):.2f}% "
          f"(changed task {100 * regret(history[change], CHANGED_TASK):.2f}%)")
    if after:
        r = regret(after)
        print(f"period after the first post-change run ({change + 1}): regret {100 * r:.2f}% "
              f"(changed task {100 * regret(after, CHANGED_TASK):.2f}%) -> goal <= 5%: "
              f"{'MET' if r <= 0.05 else 'NOT MET'}")
    runs = periods_to_adapt(leaders, truths, CHANGED_TASK, change)
    best = oracle(truths[-1], CHANGED_TASK)[0]
    if runs is None:
        print(f"time to adapt: the {CHANGED_TASK} leader never became {SHORT[best]}")
    else:
        print(f"time to adapt: {runs} learning run(s) after the change ({runs * period_s:.0f} s compressed; "
              f"{runs * 10} min at the default 10-minute period) until {SHORT[best]} led {CHANGED_TASK}")


async def run(args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="sy-bench-learning-"))
    db_url = args.database_url or f"sqlite:///{home / 'bench.db'}"
    await asyncio.to_thread(upgrade, db_url)
    rng, truth = random.Random(args.seed), initial_truth()
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(temporal_binary()),
                                                search_attributes=search_attributes.ALL,
                                                data_converter=pydantic_data_converter)
    engine = make_engine(db_url)
    services: Services | None = None
    try:
        async with run_simulator(str(WORLD), port=0) as sim:
            cfg = bench_config(sim.base_url, args.period, args.prior_strength)
            services = Services(engine=engine, http=make_http_client(), configs=ConfigHolder.fixed(cfg),
                                outcomes=OutcomeStore(engine), cooldowns=CooldownStore(engine),
                                payloads=PayloadStore(engine), rankings=RankingCache(RankingStore(engine), check_s=0.2))
            queue = f"bench-learning-{uuid.uuid4().hex[:6]}"
            change = args.periods // 2
            history, leaders, truths = [], [], []
            print(f"{args.periods} periods of {args.period:g} s, {args.requests} requests each, feedback on "
                  f"{100 * args.feedback_rate:.0f}% of answers; at period {change} {SHORT[CHANGED_TARGET]} "
                  f"{CHANGED_TASK} quality {truth[CHANGED_TASK][CHANGED_TARGET]} -> {CHANGED_QUALITY}\n")
            print("per  chg    n fail regret% static% chgtask% expl% off-best%  leaders written after the period")
            async with build_worker(env.client, services, queue):
                sy = SwitchyardClient(env.client, queue, services.payloads)
                votes = HealthStore(engine)
                for p in range(args.periods):
                    if p == change:
                        await change_world(sim.base_url)
                        truth = {t: dict(q) for t, q in truth.items()}
                        truth[CHANGED_TASK][CHANGED_TARGET] = CHANGED_QUALITY
                    served, failed = await run_period(sy, votes, rng, p, truth, args)
                    res: LearningResult = await env.client.execute_workflow(
                        LearningWorkflow.run, LearningInput(period_s=args.period), id=f"{queue}-run-{p}",
                        task_queue=queue)
                    history.append(served)
                    leaders.append({r.task_type: r.leader() for r in res.rankings})
                    truths.append(truth)
                    print(_row(p, served, failed, leaders[-1], p == change), flush=True)
            summary(history, leaders, truths, change, args.period)
    finally:
        if services is not None:
            await services.aclose()
        await engine.dispose()
        await env.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--periods", type=int, default=10)
    ap.add_argument("--requests", type=int, default=300, help="requests per period")
    ap.add_argument("--period", type=float, default=15.0, help="compressed period length, seconds")
    ap.add_argument("--feedback-rate", type=float, default=0.5, help="share of answers that get a vote")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--prior-strength", type=float, default=4.0, help="learning.prior_strength (0: uniform prior)")
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
