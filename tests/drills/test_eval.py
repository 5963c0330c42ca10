"""``switchyard eval`` on the real stack: a deliberately worse simulated target ranks lower."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from activities.learning import LearningActivities
from activities.storage.drill_store import DrillStore
from activities.storage.drill_tables import eval_scores
from activities.storage.learning_queries import OutcomeAggregator
from activities.storage.rankings import RankingStore
from core.drill import TrialInput
from core.eval_checks import parse_cases
from core.learning.model import GatherInput
from tests.configs import sim_config
from tests.drills.conftest import CLAUDE, GEMINI, LOCAL, PRIMARY, apply
from tests.harness import request_worker
from worker.config_loader import ConfigHolder
from worker.trial_report import write_report
from worker.trial_runner import run_trial

CASES = "\n".join(json.dumps(c) for c in [
    {"id": "refill", "prompt": "Where is my refill order for insulin pens?", "checks": {"contains": ["refill"]}},
    {"id": "password", "prompt": "How do I reset my account password?", "checks": {"contains": ["password"],
                                                                                    "min_chars": 20}},
    {"id": "parcel", "prompt": "My parcel arrived damaged, what now?", "checks": {"regex": "parcel|damaged"}},
    {"id": "judged-1", "prompt": "Summarise the warranty terms for laptops."},
    {"id": "judged-2", "prompt": "Explain the refund policy for concert tickets."},
])


async def test_eval_ranks_the_off_topic_target_last_with_checks_and_judge(temporal_env, db_url, engine, sim,
                                                                          tmp_path) -> None:
    await apply(sim, CLAUDE, corrupt_share=1.0, corrupt_kind=["off_topic"])  # fluent, unrelated answers
    cfg = sim_config(sim.base_url)
    async with request_worker(temporal_env.client, cfg, db_url) as sy:
        report = await run_trial(sy.client, sy.task_queue, TrialInput(
            route="support_reply", kind="eval", cases=parse_cases(CASES), judge_target=GEMINI))
    ranked = [s.target for s in report.summaries]
    assert ranked[-1] == CLAUDE, ranked
    assert set(ranked) == {PRIMARY, "openai/gpt-4o@eu-west", CLAUDE, GEMINI, LOCAL}
    by = {s.target: s for s in report.summaries}
    assert by[PRIMARY].mean_score > 0.8 and by[CLAUDE].mean_score < 0.4
    assert by[CLAUDE].success_rate == 1.0  # a worse answer, not a failed request: only scoring can tell
    judged = [s for s in report.samples if s.case_id.startswith("judged")]
    assert all(s.scored_by == "judge" for s in judged)
    assert {s.target: s.judge_score for s in judged if s.target == CLAUDE}[CLAUDE] <= 0.2
    assert min(s.judge_score for s in judged if s.target == PRIMARY) >= 0.5
    assert by[PRIMARY].latency_p50_ms > 0
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(eval_scores).where(eval_scores.c.run_id == report.run_id))).all()
    assert {r.target: r.samples for r in rows} == {t: 5 for t in ranked}
    # the scores reach learning as a quality signal of (support_reply, target)
    learning = LearningActivities(ConfigHolder.fixed(cfg), OutcomeAggregator(engine), RankingStore(engine),
                                  evals=DrillStore(engine))
    gathered = await learning.gather(GatherInput(now=time.time() + 1, task_types=["support_reply"]))
    arms = {a.target: a for a in gathered.stats["support_reply"]}
    claude = sum(p.eval_good for p in arms[CLAUDE].periods), sum(p.eval_bad for p in arms[CLAUDE].periods)
    primary = sum(p.eval_good for p in arms[PRIMARY].periods), sum(p.eval_bad for p in arms[PRIMARY].periods)
    assert claude[1] > claude[0] and primary[0] > primary[1]
    js, page = write_report(report, tmp_path)
    assert json.loads(js.read_text())["summaries"][-1]["target"] == CLAUDE
    assert page.read_text().count("<svg") == 2 and CLAUDE in page.read_text()
