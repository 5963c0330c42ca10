"""Canary share and forced targets in planning (pure: ``core/canary.py``, ``core/plan.py``)."""

from __future__ import annotations

import math

import pytest
import yaml

from core.canary import canary_draw, is_canary
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
