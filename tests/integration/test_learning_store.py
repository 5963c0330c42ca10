"""Learning's storage on the real database: SQL aggregates of fixed outcome rows, versioned ranking
writes, and planning picking up a newly written ranking version (and recording it in the plan).

Every test uses its own task type, so rankings written here never reorder other tests' routes.
"""

from __future__ import annotations

import random
import uuid

import pytest
from temporalio.testing import ActivityEnvironment

from activities.learning import LearningActivities, route_specs
from activities.planning import PlanningActivities
from activities.storage.cooldowns import CooldownStore
from activities.storage.health import HealthStore
from activities.storage.learning_queries import OutcomeAggregator
from activities.storage.outcomes import OutcomeRow, OutcomeStore
from activities.storage.rankings import RankingCache, RankingStore
from core.config import LearningSettings
from core.learning.model import GatherInput, RankedTarget, Ranking
from core.learning.rank import compute_ranking
from core.plan import PlanInput
from tests.configs import sim_config
from worker.config_loader import ConfigHolder

NOW = 1_000_000_000.0  # in the past: these fixed rows must never look recent to live queries
GPT, CLAUDE = "openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"


def task() -> str:
    return f"lt_{uuid.uuid4().hex[:10]}"


def row(task_type: str, target: str, n: int, *, status: str = "ok", age_s: float = 10.0, latency: float = 100.0,
        health: str | None = None, flags: str = "", counts: bool = True) -> OutcomeRow:
    provider, rest = target.split("/", 1)
    return OutcomeRow(workflow_id=f"{task_type}-{target}-{n}-{status}", seq=1, try_no=1, target=target,
                      provider=provider, model=rest.split("@")[0], region=rest.split("@")[1], task_type=task_type,
                      tenant="t", status_class=status, counts_against_health=counts and status != "ok",
                      latency_ms=latency, ttft_ms=latency / 2, completion_tokens=100, cost_usd=0.002,
                      quality_flags=flags, health_state=health, created_at=NOW - age_s)


async def test_aggregates_per_period_with_percentiles_health_and_feedback(engine) -> None:
    tt, store = task(), OutcomeStore(engine)
    for i in range(20):   # latest period: 20 answers, latency 100..119 ms, 2 flagged
        await store.record(row(tt, GPT, i, latency=100 + i, flags="truncated" if i < 2 else ""))
    for i in range(5):    # one period older: 5 target failures
        await store.record(row(tt, GPT, i, status="ServerError", age_s=700))
    await store.record(row(tt, GPT, 1, status="InvalidRequest", counts=False))    # the caller's fault
    await store.record(row(tt, GPT, 2, status="RateLimited", counts=False))       # capacity, not quality
    for i in range(4):    # seen while degraded: health's business
        await store.record(row(tt, GPT, 100 + i, status="Timeout", health="degraded"))
    await store.record(row(tt, GPT, 99, age_s=99_999))                             # outside the window
    votes = HealthStore(engine)
    for i, positive in enumerate([True, True, True, False]):
        await votes.record_feedback(f"{tt}-{GPT}-{i + 2}-ok", positive, "", NOW)

    [arm] = await OutcomeAggregator(engine).stats([tt], NOW, 600.0, 24)
    latest, older = arm.periods
    assert (latest.age, latest.ok, latest.failures, latest.flagged) == (0, 20, 0, 2)
    assert (latest.votes_up, latest.votes_down) == (3, 1)
    assert latest.cost_usd == pytest.approx(0.04) and latest.output_tokens == 2000
    assert (older.age, older.ok, older.failures) == (1, 0, 5)
    assert arm.left_to_health == 4
    assert (arm.latency_p50_ms, arm.latency_p95_ms, arm.ttft_p50_ms) == (109.0, 118.0, 54.5)


async def test_missing_task_type_and_empty_window_give_no_stats(engine) -> None:
    assert await OutcomeAggregator(engine).stats([task()], NOW, 600.0, 24) == []
    assert await OutcomeAggregator(engine).stats([], NOW, 600.0, 24) == []


def ranking(tt: str, leader: str, other: str, mode: str = "on") -> Ranking:
    return Ranking(task_type=tt, mode=mode, created_at=NOW, targets=[
        RankedTarget(target=leader, rank=1, score=0.9, p_best=1.0, share=1.0),
        RankedTarget(target=other, rank=2, score=0.5, share=0.0)])


async def test_versions_are_per_task_type_and_a_rerun_write_is_idempotent(engine) -> None:
    tt, store = task(), RankingStore(engine)
    v1 = await store.write(ranking(tt, GPT, CLAUDE), "run-a")
    again = await store.write(ranking(tt, CLAUDE, GPT), "run-a")
    v2 = await store.write(ranking(tt, CLAUDE, GPT), "run-b")
    assert (v1.version, again.version, v2.version) == (1, 1, 2)
    assert again.leader() == GPT                      # the first write of run-a, unchanged
    current, previous = await store.history(tt)
    assert (current.version, current.leader(), previous.leader()) == (2, CLAUDE, GPT)
    assert (await store.latest_all())[tt].version == 2 and tt in await store.task_types()


async def test_planning_uses_a_new_ranking_version_once_written_and_records_it(engine) -> None:
    tt = task()
    chain = ["openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet", "gemini/gemini-2.0-flash"]
    cfg = sim_config("http://sim", default_route=tt, routes={tt: {"chain": chain}})
    store = RankingStore(engine)
    planning = PlanningActivities(ConfigHolder.fixed(cfg), CooldownStore(engine),
                                  rankings=RankingCache(store, check_s=0.0), rng=random.Random(1))
    env = ActivityEnvironment()

    before = await env.run(planning.plan, PlanInput(task_type=tt))
    assert before.ranking is None and before.entries[0].target == GPT

    await store.write(ranking(tt, GEMINI, GPT), "run-1")
    p1 = await env.run(planning.plan, PlanInput(task_type=tt))
    assert [e.target for e in p1.entries][:2] == [GEMINI, GPT]
    assert p1.ranking.version == 1 and p1.ranking.applied and p1.ranking.scores[GEMINI] == 0.9
    assert any("learned rank 1 of 2 (ranking v1" in r for r in p1.entries[0].reasons)
    assert any("last-resort fallback" in r for r in p1.entries[2].reasons)   # CLAUDE: not in this ranking

    await store.write(ranking(tt, CLAUDE, GEMINI), "run-2")
    p2 = await env.run(planning.plan, PlanInput(task_type=tt))
    assert p2.entries[0].target == CLAUDE and p2.ranking.version == 2

    await store.write(ranking(tt, GPT, GEMINI, mode="shadow"), "run-3")
    p3 = await env.run(planning.plan, PlanInput(task_type=tt))
    assert [e.target for e in p3.entries] == [GPT, CLAUDE, GEMINI]           # configured order
    assert p3.ranking.version == 3 and not p3.ranking.applied and p3.ranking.first == GPT


async def test_gather_ranks_configured_routes_from_the_database(engine) -> None:
    tt, store = task(), OutcomeStore(engine)
    cfg = sim_config("http://sim", default_route=tt,
                     routes={tt: {"chain": ["openai/gpt-4o@us-east", "gemini/gemini-2.0-flash"]},
                             "quiet": {"chain": ["openai/gpt-4o"], "learn": False}})
    for i in range(60):
        await store.record(row(tt, GEMINI, i))
        await store.record(row(tt, GPT, i, status="ok" if i % 3 else "ServerError"))
    acts = LearningActivities(ConfigHolder.fixed(cfg), OutcomeAggregator(engine), RankingStore(engine))
    gathered = await ActivityEnvironment().run(acts.gather, GatherInput(now=NOW))
    assert [r.task_type for r in gathered.routes] == [tt]     # learn: off (YAML `off`) is skipped
    spec = gathered.routes[0]
    r = compute_ranking(spec, gathered.stats[tt], LearningSettings(), seed=1, now=NOW)
    assert r.leader() == GEMINI
    with pytest.raises(ValueError, match="unknown task type"):
        route_specs(cfg, ["nope"])
