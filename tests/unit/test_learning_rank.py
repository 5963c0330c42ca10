"""The ranking of one route from fixed outcome tables: ties, missing data, small samples, cost
ceiling, constraints, feedback, change points, shares (``core/learning``)."""

from __future__ import annotations

import pytest

from core.config import LearningSettings, Objective, ObjectiveWeights
from core.learning.evidence import changed, discounted
from core.learning.model import ArmSpec, ArmStats, PeriodCounts, RouteSpec
from core.learning.rank import compute_ranking, shares

A, B, C = "openai/gpt-4o@us-east", "anthropic/claude-sonnet-4@us-east", "gemini/gemini-2.0-flash@us-central"
SETTINGS = LearningSettings()


def arm(target: str, *, price: float = 10.0, caps: tuple[str, ...] = ("chat", "json"), ctx: int = 128_000) -> ArmSpec:
    return ArmSpec(target=target, model_ref=target.split("@")[0], region=target.split("@")[1],
                   capabilities=list(caps), context_window=ctx, price_output=price)


def spec(*arms: ArmSpec, **objective) -> RouteSpec:
    return RouteSpec(task_type="t", mode="on", objective=Objective(**objective), arms=list(arms))


def stats(target: str, ok: int, failures: int = 0, *, age: int = 0, flagged: int = 0, up: int = 0, down: int = 0,
          p50: float | None = 800.0, cost: float = 0.001) -> ArmStats:
    return ArmStats(task_type="t", target=target, latency_p50_ms=p50 if ok else None, periods=[PeriodCounts(
        age=age, ok=ok, failures=failures, flagged=flagged, votes_up=up, votes_down=down, cost_usd=cost * ok,
        output_tokens=100 * ok)])


def by_target(ranking):
    return {t.target: t for t in ranking.targets}


def test_three_perfect_samples_do_not_beat_five_hundred_good_ones() -> None:
    r = compute_ranking(spec(arm(A), arm(B)), [stats(A, 475, 25), stats(B, 3)], SETTINGS, seed=7, now=1.0)
    t = by_target(r)
    assert r.leader() == A
    assert t[A].share > 0.9 and t[B].share < 0.1
    assert t[B].share >= 0.02  # still explored (R10 floor)
    assert t[A].figures.samples == 500 and t[A].figures.success_rate == pytest.approx(0.95)


def test_enough_perfect_samples_do_take_the_lead() -> None:
    r = compute_ranking(spec(arm(A), arm(B)), [stats(A, 475, 25), stats(B, 200)], SETTINGS, seed=7, now=1.0)
    assert r.leader() == B


def test_exact_ties_keep_configured_order_and_same_seed_same_ranking() -> None:
    only_latency = ObjectiveWeights(success=0, quality=0, latency=1, cost=0)
    s = spec(arm(B), arm(A), weights=only_latency)
    r1 = compute_ranking(s, [stats(A, 100), stats(B, 100)], SETTINGS, seed=3, now=1.0)
    r2 = compute_ranking(s, [stats(A, 100), stats(B, 100)], SETTINGS, seed=3, now=1.0)
    assert [t.target for t in r1.ranked()] == [B, A]
    assert r1 == r2


def test_statistical_ties_split_first_positions() -> None:
    r = compute_ranking(spec(arm(A), arm(B)), [stats(A, 300, 10), stats(B, 300, 10)], SETTINGS, seed=11, now=1.0)
    t = by_target(r)
    assert abs(t[A].share - t[B].share) < 0.15
    assert t[A].score == t[B].score


def test_missing_data_target_is_ranked_on_its_prior_and_explored() -> None:
    r = compute_ranking(spec(arm(A), arm(B), arm(C)), [stats(A, 200), stats(B, 150, 50)], SETTINGS, seed=1, now=1.0)
    t = by_target(r)
    assert [x.target for x in r.ranked()][0] == A
    assert t[C].rank > 0 and t[C].figures.samples == 0 and "prior only" in t[C].why
    assert t[C].share >= 0.02
    assert any("no votes" in n for n in r.notes)


def test_no_outcomes_at_all_keeps_configured_leader_with_floor_shares() -> None:
    r = compute_ranking(spec(arm(B), arm(A), arm(C)), [], SETTINGS, seed=5, now=1.0)
    assert len(r.ranked()) == 3
    assert sum(t.share for t in r.targets) == pytest.approx(1.0)
    assert min(t.share for t in r.targets) >= 0.02


def test_cost_ceiling_is_honoured_even_for_the_best_target() -> None:
    s = spec(arm(A, price=10.0), arm(C, price=0.4), cost_ceiling_usd_per_1m_output=5.0)
    r = compute_ranking(s, [stats(A, 500), stats(C, 300, 200)], SETTINGS, seed=2, now=1.0)
    t = by_target(r)
    assert t[A].rank == 0 and t[A].share == 0.0 and "over the ceiling 5" in t[A].why
    assert r.leader() == C and t[C].share == 1.0


def test_hard_constraints_capability_context_region() -> None:
    s = spec(arm(A), arm(B, caps=("chat",)), arm(C, ctx=8000), required_capabilities=["json"],
             min_context_window=32_000, allowed_regions=["us-east", "us-central"])
    t = by_target(compute_ranking(s, [], SETTINGS, seed=1, now=1.0))
    assert t[A].rank == 1
    assert t[B].rank == 0 and "lacks required capability json" in t[B].why
    assert t[C].rank == 0 and "context window 8000" in t[C].why
    s2 = spec(arm(A), arm(C), allowed_regions=["us-central"])
    assert "region us-east not allowed" in by_target(compute_ranking(s2, [], SETTINGS, seed=1, now=1.0))[A].why


def test_pinned_primary_stays_first_with_every_first_position() -> None:
    s = spec(arm(A), arm(B), pinned_primary="anthropic/claude-sonnet-4")
    r = compute_ranking(s, [stats(A, 500), stats(B, 100, 100)], SETTINGS, seed=1, now=1.0)
    t = by_target(r)
    assert r.leader() == B and r.pinned == [B] and t[B].share == 1.0 and t[A].share == 0.0


def test_feedback_and_quality_flags_demote_a_target() -> None:
    s = spec(arm(A), arm(B))
    r = compute_ranking(s, [stats(A, 400, up=100, down=100), stats(B, 400, up=180, down=20)], SETTINGS, seed=1, now=1)
    assert r.leader() == B and by_target(r)[B].figures.feedback_score == pytest.approx(0.9)
    r2 = compute_ranking(s, [stats(A, 400, flagged=80), stats(B, 400, flagged=4)], SETTINGS, seed=1, now=1)
    assert r2.leader() == B and by_target(r2)[A].figures.quality_flag_rate == pytest.approx(0.2)


def test_latency_and_cost_break_otherwise_equal_targets() -> None:
    s = spec(arm(A), arm(B))
    slow = compute_ranking(s, [stats(A, 400, p50=3000), stats(B, 400, p50=600)], SETTINGS, seed=1, now=1)
    assert by_target(slow)[B].score > by_target(slow)[A].score
    dear = compute_ranking(s, [stats(A, 400, cost=0.01), stats(B, 400, cost=0.001)], SETTINGS, seed=1, now=1)
    assert by_target(dear)[B].score > by_target(dear)[A].score


def test_change_point_forgets_history_and_demotes_the_changed_target() -> None:
    history = [PeriodCounts(age=a, ok=100, votes_up=95, votes_down=5) for a in range(1, 6)]
    worse = ArmStats(task_type="t", target=A, latency_p50_ms=800,
                     periods=[PeriodCounts(age=0, ok=100, votes_up=55, votes_down=45), *history])
    steady = ArmStats(task_type="t", target=B, latency_p50_ms=800,
                      periods=[PeriodCounts(age=a, ok=6, votes_up=5, votes_down=1) for a in range(0, 6)])
    r = compute_ranking(spec(arm(A), arm(B)), [worse, steady], SETTINGS, seed=4, now=1)
    t = by_target(r)
    assert t[A].figures.reset == ["feedback"] and any("change point" in n for n in r.notes)
    assert r.leader() == B


def test_change_point_is_still_found_when_the_changed_target_gets_little_traffic_afterwards() -> None:
    periods = [(0, 2, 3), (1, 28, 22), *[(a, 95, 5) for a in range(2, 8)]]
    ev = discounted(periods, SETTINGS)
    assert ev.reset and ev.good == pytest.approx(2 + 28 * 0.85) and ev.bad == pytest.approx(3 + 22 * 0.85)
    steady = discounted([(a, 95, 5) for a in range(0, 8)], SETTINGS)
    assert not steady.reset


def test_discount_weighs_older_periods_less_and_memory_caps_evidence() -> None:
    ev = discounted([(0, 6, 4), (2, 6, 4)], SETTINGS)
    assert ev.good == pytest.approx(6 + 6 * 0.85 ** 2) and ev.bad == pytest.approx(4 + 4 * 0.85 ** 2)
    assert not ev.reset
    capped = discounted([(0, 9000, 1000)], SETTINGS)
    assert capped.n == pytest.approx(2000) and capped.good / capped.n == pytest.approx(0.9)
    assert not changed((9, 1), (900, 100), 4.0, 10)   # the same rate
    assert changed((50, 50), (950, 50), 4.0, 10)


def test_shares_floor_and_cap() -> None:
    assert shares([0.98, 0.01, 0.01], 0, 0.02, 1.0) == pytest.approx([0.96, 0.02, 0.02])
    assert shares([0.4, 0.6], 1, 0.02, 1.0) == pytest.approx([0.4, 0.6])
    assert shares([0.2, 0.2, 0.6], 2, 0.02, 0.1) == pytest.approx([0.05, 0.05, 0.9])
    assert sum(shares([0.0] * 40, 0, 0.2, 1.0)) == pytest.approx(1.0)


def test_prior_pooled_from_the_targets_other_task_types() -> None:
    elsewhere = {B: [ArmStats(task_type="other", target=B, periods=[PeriodCounts(age=0, ok=200, votes_up=190,
                                                                                votes_down=10)])]}
    s = spec(arm(A), arm(B))
    stats_now = [stats(A, 100, up=55, down=45), stats(B, 2, up=2)]
    pooled = compute_ranking(s, stats_now, SETTINGS, seed=5, now=1, others=elsewhere)
    flat = compute_ranking(s, stats_now, SETTINGS.model_copy(update={"prior_strength": 0}), seed=5, now=1,
                           others=elsewhere)
    assert by_target(pooled)[B].score > by_target(flat)[B].score
    assert pooled.leader() == B and by_target(pooled)[B].share > by_target(flat)[B].share
