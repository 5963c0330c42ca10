"""Eval and drill scores as learning's quality signal (``core/learning/eval_signal.py``, ``rank.py``)."""

from __future__ import annotations

import pytest

from core.config import LearningSettings, Objective
from core.learning.eval_signal import with_eval_signal
from core.learning.model import ArmSpec, ArmStats, PeriodCounts, RouteSpec
from core.learning.rank import compute_ranking

A, B = "openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet@us-east"


def _arm(t: str) -> ArmSpec:
    return ArmSpec(target=t, model_ref=t.split("@")[0], region=t.split("@")[1], capabilities=["chat"],
                   context_window=128_000, price_output=10.0)


def _live(t: str) -> ArmStats:
    return ArmStats(task_type="t", target=t, latency_p50_ms=500.0,
                    periods=[PeriodCounts(age=0, ok=100, cost_usd=0.1, output_tokens=10_000)])


def test_eval_scores_merge_into_periods_and_add_arms_without_traffic() -> None:
    live = [_live(A)]
    merged = with_eval_signal(live, {("t", A): [(0, 4.5, 0.5), (3, 1.0, 1.0)], ("t", B): [(1, 2.0, 8.0)]})
    b, a = merged  # sorted by (task type, target)
    assert [(p.age, p.ok, p.eval_good, p.eval_bad) for p in a.periods] == [(0, 100, 4.5, 0.5), (3, 0, 1.0, 1.0)]
    assert b.target == B and [(p.age, p.ok, p.eval_bad) for p in b.periods] == [(1, 0, 8.0)]
    assert live[0].periods[0].eval_good == 0.0  # input untouched


def test_a_badly_scored_target_loses_the_lead_it_would_tie_on_outcomes() -> None:
    spec = RouteSpec(task_type="t", mode="on", objective=Objective(), arms=[_arm(B), _arm(A)])
    settings = LearningSettings()
    tie = compute_ranking(spec, [_live(A), _live(B)], settings, seed=3, now=1.0)
    assert {t.target: t.score for t in tie.targets}[A] == pytest.approx({t.target: t.score for t in tie.targets}[B])
    scored = with_eval_signal([_live(A), _live(B)], {("t", B): [(0, 10.0, 40.0)], ("t", A): [(0, 45.0, 5.0)]})
    r = compute_ranking(spec, scored, settings, seed=3, now=1.0)
    by = {t.target: t for t in r.targets}
    assert r.leader() == A and by[A].score > by[B].score
    assert by[B].figures.eval_score == pytest.approx(0.2) and by[A].figures.eval_score == pytest.approx(0.9)
