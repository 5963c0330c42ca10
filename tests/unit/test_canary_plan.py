"""Canary share, live drill windows and forced targets in planning (pure: ``core/canary.py``,
``core/plan.py``, ``core/drill.py``)."""

from __future__ import annotations

import math

import pytest
import yaml

from core.canary import LiveDrill, canary_draw, is_canary
from core.drill import LiveRow, TrialSpec, live_report, live_summary
from core.plan import Cooldown, ForcedTargetUnfit, PlanInput, build_plan
from tests.configs import sim_config, sim_config_dict
from worker.config_loader import parse_config

PRIMARY, EU, CLAUDE = "openai/gpt-4o@us-east", "openai/gpt-4o@eu-west", "anthropic/claude-3-5-sonnet@us-east"
NOW = 1_000_000.0


def _cfg(share: float):
    data = sim_config_dict("http://sim")
    data["routes"]["support_reply"]["canary"] = {"share": share}
    return parse_config(yaml.safe_dump(data), "canary")


@pytest.mark.parametrize("share", [0.01, 0.05, 0.2])
def test_canary_share_within_three_sigma_over_1000_requests(share: float) -> None:
    cfg = _cfg(share)
    ids = [f"req-default-0193a1b2-{i:04d}-7c3d-9e4f-{i * 7919:012x}" for i in range(1000)]
    plans = [build_plan(cfg, PlanInput(task_type="support_reply"), {}, NOW, canary_draw=canary_draw(w)) for w in ids]
    canaries = [p for p in plans if p.canary]
    sigma = math.sqrt(1000 * share * (1 - share))
    assert abs(len(canaries) - 1000 * share) <= 3 * sigma, len(canaries)
    assert len(canaries) == sum(is_canary(w, share) for w in ids)  # the plan follows the draw exactly
    for p in canaries:
        assert [e.target for e in p.entries[:3]] == [EU, PRIMARY, CLAUDE]  # first backup first, primary second
        assert p.entries[0].reasons[0].startswith("canary: ")
    assert all(p.entries[0].target == PRIMARY for p in plans if not p.canary)


def test_canary_draw_is_a_pure_function_of_the_workflow_id() -> None:
    assert canary_draw("req-a") == canary_draw("req-a") != canary_draw("req-b")
    assert 0.0 <= canary_draw("req-a") < 1.0
    assert not is_canary("anything", 0.0)


def test_no_canary_without_share_or_for_a_pinned_conversation() -> None:
    off = build_plan(sim_config("http://sim"), PlanInput(task_type="support_reply"), {}, NOW, canary_draw=0.0)
    assert not off.canary and off.entries[0].target == PRIMARY
    pinned = build_plan(_cfg(0.5), PlanInput(task_type="support_reply", pinned_target=PRIMARY), {}, NOW,
                        canary_draw=0.0)
    assert not pinned.canary and pinned.entries[0].target == PRIMARY


def test_forced_target_alone_in_the_plan_despite_its_cooldown() -> None:
    cool = {CLAUDE: Cooldown(target=CLAUDE, until=NOW + 60, reason="ServerError")}
    plan = build_plan(_cfg(0.5), PlanInput(task_type="support_reply", force_target=CLAUDE), cool, NOW,
                      canary_draw=0.0)
    assert [e.target for e in plan.entries] == [CLAUDE] and plan.forced == CLAUDE and not plan.canary
    assert plan.entries[0].reasons[0] == "forced by a drill or eval run"
    assert plan.skipped[PRIMARY] == f"forced by a drill or eval run to {CLAUDE}"


def test_forced_target_outside_the_chain_and_unknown_or_unfit_targets() -> None:
    cfg = sim_config("http://sim")
    judge = build_plan(cfg, PlanInput(task_type="contract_clause_summary",
                                      force_target="openai/local-llama-3.1-8b@local"), {}, NOW)
    assert "not in the route's chain" in judge.entries[0].reasons
    with pytest.raises(ForcedTargetUnfit, match="not configured"):
        build_plan(cfg, PlanInput(task_type="support_reply", force_target="openai/nope@x"), {}, NOW)
    with pytest.raises(ForcedTargetUnfit, match="context window"):
        build_plan(cfg, PlanInput(task_type="support_reply", force_target="openai/local-llama-3.1-8b@local",
                                  estimated_prompt_tokens=9000), {}, NOW)


def _window(target: str = CLAUDE, share: float = 0.5) -> LiveDrill:
    return LiveDrill(run_id="drill-x", route="support_reply", target=target, share=share, starts_at=0, ends_at=1e12)


def test_live_drill_window_puts_its_backup_first_for_its_share_before_the_canary() -> None:
    cfg = _cfg(0.5)
    drills = {"support_reply": [_window()]}
    low = build_plan(cfg, PlanInput(task_type="support_reply"), {}, NOW, canary_draw=0.1, live_drills=drills)
    assert [e.target for e in low.entries[:3]] == [CLAUDE, PRIMARY, EU]
    assert low.live_drill == "drill-x" and not low.canary
    assert low.entries[0].reasons[0] == "drill drill-x: 50% of live requests try this backup first"
    high = build_plan(cfg, PlanInput(task_type="support_reply"), {}, NOW, canary_draw=0.7, live_drills=drills)
    assert high.entries[0].target == PRIMARY and high.live_drill is None
    other = build_plan(cfg, PlanInput(task_type="json_extraction"), {}, NOW, canary_draw=0.1, live_drills=drills)
    assert other.live_drill is None  # the window is for its route only
    pinned = build_plan(cfg, PlanInput(task_type="support_reply", pinned_target=PRIMARY), {}, NOW, canary_draw=0.1,
                        live_drills=drills)
    assert pinned.entries[0].target == PRIMARY and pinned.live_drill is None


def test_live_report_fails_a_backup_no_live_request_reached() -> None:
    spec = TrialSpec(route="support_reply", kind="drill", primary=PRIMARY, targets=[PRIMARY, CLAUDE, EU], cases=[],
                     live_share=0.1)
    rows = [LiveRow(ok=True, latency_ms=100.0)] * 9 + [LiveRow(ok=True, latency_ms=120.0, flagged=True)]
    primary = live_summary(PRIMARY, "primary", rows)
    assert primary.samples == 10 and primary.mean_score == 0.9 and primary.format_ok == 0.9
    report = live_report(spec, [(primary, live_summary(CLAUDE, "backup", [])),
                                (primary, live_summary(EU, "backup", rows))], "drill-x", NOW)
    assert report.live and report.failed_targets() == [CLAUDE]
    assert report.verdicts[0].reasons == ["no live request reached it in the window"]
    assert [s.target for s in report.summaries] == [PRIMARY, CLAUDE, EU]


def test_overlapping_live_drills_take_consecutive_bands_of_the_draw() -> None:
    cfg = _cfg(0.0)
    second = _window(EU, 0.25).model_copy(update={"run_id": "drill-y"})
    drills = {"support_reply": [_window(CLAUDE, 0.25), second]}
    plans = {d: build_plan(cfg, PlanInput(task_type="support_reply"), {}, NOW, canary_draw=d, live_drills=drills)
             for d in (0.1, 0.3, 0.6)}
    assert (plans[0.1].live_drill, plans[0.1].entries[0].target) == ("drill-x", CLAUDE)
    assert (plans[0.3].live_drill, plans[0.3].entries[0].target) == ("drill-y", EU)
    assert (plans[0.6].live_drill, plans[0.6].entries[0].target) == (None, PRIMARY)
