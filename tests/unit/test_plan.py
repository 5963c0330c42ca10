"""Planning: chain expansion, region order, capability and context filters, cooldowns, pins."""

from __future__ import annotations

import pytest

from core.plan import Cooldown, PlanInput, UnknownRoute, build_plan
from tests.configs import sim_config

CFG = sim_config("http://sim")
NOW = 1_000_000.0


def ids(plan) -> list[str]:
    return [e.target for e in plan.entries]


def test_nearest_region_first_then_same_model_then_next_model() -> None:
    us = build_plan(CFG, PlanInput(task_type="support_reply", origin_region="us-east"), {}, NOW)
    eu = build_plan(CFG, PlanInput(task_type="support_reply", origin_region="eu-west"), {}, NOW)
    assert ids(us)[:3] == ["openai/gpt-4o@us-east", "openai/gpt-4o@eu-west", "anthropic/claude-3-5-sonnet@us-east"]
    assert ids(eu)[:3] == ["openai/gpt-4o@eu-west", "openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet@us-east"]
    assert any("same region" in r for r in eu.entries[0].reasons)
    assert any("km from eu-west" in r for r in eu.entries[1].reasons)


def test_default_route_and_unknown_route() -> None:
    plan = build_plan(CFG, PlanInput(), {}, NOW)
    assert plan.route == "support_reply"
    with pytest.raises(UnknownRoute):
        build_plan(CFG, PlanInput(task_type="nope"), {}, NOW)


def test_small_context_window_is_skipped_with_reason() -> None:
    plan = build_plan(CFG, PlanInput(task_type="support_reply", estimated_prompt_tokens=7000, output_cap=2000),
                      {}, NOW)
    assert "openai/local-llama-3.1-8b@local" not in ids(plan)
    assert "context window 8192" in plan.skipped["openai/local-llama-3.1-8b@local"]


def test_missing_capability_is_skipped() -> None:
    plan = build_plan(CFG, PlanInput(task_type="support_reply", required_capabilities=["tools"]), {}, NOW)
    assert "lacks capability tools" in plan.skipped["openai/local-llama-3.1-8b@local"]


def test_cooled_down_target_is_skipped_until_the_cooldown_ends() -> None:
    cd = {"openai/gpt-4o@us-east": Cooldown(target="openai/gpt-4o@us-east", until=NOW + 30, reason="RateLimited")}
    plan = build_plan(CFG, PlanInput(task_type="support_reply"), cd, NOW)
    assert ids(plan)[0] == "openai/gpt-4o@eu-west"
    assert "cooling down for 30.0 s after RateLimited" == plan.skipped["openai/gpt-4o@us-east"]
    later = build_plan(CFG, PlanInput(task_type="support_reply"), cd, NOW + 31)
    assert ids(later)[0] == "openai/gpt-4o@us-east"


def test_everything_cooling_down_keeps_targets_earliest_end_first() -> None:
    plan0 = build_plan(CFG, PlanInput(task_type="contract_clause_summary"), {}, NOW)
    cd = {t: Cooldown(target=t, until=NOW + 100 - i, reason="Overloaded") for i, t in enumerate(ids(plan0))}
    plan = build_plan(CFG, PlanInput(task_type="contract_clause_summary"), cd, NOW)
    assert ids(plan) == list(reversed(ids(plan0)))
    assert all("tried anyway" in e.reasons[-1] for e in plan.entries)


def test_pinned_target_goes_first() -> None:
    plan = build_plan(CFG, PlanInput(task_type="support_reply", pinned_target="gemini/gemini-2.0-flash@us-central"),
                      {}, NOW)
    assert ids(plan)[0] == "gemini/gemini-2.0-flash@us-central"
    assert plan.entries[0].reasons[0] == "conversation pinned to this target"
