"""A learned ranking applied at planning time: group order, first-position draw, unranked fallbacks,
route modes, and cooldowns and conversation pins still overriding the learned order."""

from __future__ import annotations

from core.learning.model import RankedTarget, Ranking
from core.plan import Cooldown, PlanInput, build_plan
from tests.configs import sim_config

CFG = sim_config("http://sim")
NOW = 1_000_000.0
GPT_US, GPT_EU = "openai/gpt-4o@us-east", "openai/gpt-4o@eu-west"
CLAUDE, GEMINI, LOCAL = "anthropic/claude-3-5-sonnet@us-east", "gemini/gemini-2.0-flash@us-central", \
    "openai/local-llama-3.1-8b@local"


def ranking(mode: str = "on") -> Ranking:
    return Ranking(task_type="support_reply", version=7, mode=mode, created_at=NOW, targets=[
        RankedTarget(target=GEMINI, rank=1, score=0.93, share=0.90),
        RankedTarget(target=GPT_EU, rank=2, score=0.90, share=0.04),
        RankedTarget(target=GPT_US, rank=3, score=0.88, share=0.04),
        RankedTarget(target=CLAUDE, rank=4, score=0.70, share=0.02),
        RankedTarget(target=LOCAL, rank=0, why="lacks required capability tools")])


def plan(draw: float = 0.0, mode: str = "on", cfg=CFG, **inp):
    return build_plan(cfg, PlanInput(task_type="support_reply", **inp), {}, NOW,
                      rankings={"support_reply": ranking(mode)}, ranking_draw=draw)


def ids(p) -> list[str]:
    return [e.target for e in p.entries]


def test_groups_follow_the_ranking_and_regions_keep_distance_order() -> None:
    p = plan(0.5)
    assert ids(p) == [GEMINI, GPT_US, GPT_EU, CLAUDE, LOCAL]   # gpt-4o group: nearest region first
    assert p.ranking.version == 7 and p.ranking.applied and p.ranking.first == GEMINI and not p.ranking.explored
    assert p.ranking.scores[GEMINI] == 0.93
    assert "learned rank 1 of 4 (ranking v7: score 0.930, share 0.900)" in p.entries[0].reasons
    assert any("last-resort fallback" in r and "tools" in r for r in p.entries[-1].reasons)


def test_the_draw_gives_other_groups_their_share_of_first_positions() -> None:
    p = plan(0.93)                                            # past gemini's 0.90: the gpt-4o group's 0.08
    assert ids(p)[:2] == [GPT_US, GPT_EU] and p.ranking.explored
    assert any(r.startswith("explored: drawn first") for r in p.entries[0].reasons)
    assert ids(plan(0.999))[0] == CLAUDE


def test_shadow_and_off_leave_the_configured_order() -> None:
    configured = ids(build_plan(CFG, PlanInput(task_type="support_reply"), {}, NOW))
    shadow = plan(0.5, mode="shadow")
    assert ids(shadow) == configured and not shadow.ranking.applied and shadow.ranking.first == GEMINI
    off_cfg = CFG.model_copy(update={"routes": {**CFG.routes, "support_reply": CFG.routes["support_reply"]
                                                .model_copy(update={"learn": "off"})}})
    off = plan(0.5, cfg=off_cfg)
    assert ids(off) == configured and off.ranking is None
    shadow_route = CFG.model_copy(update={"routes": {**CFG.routes, "support_reply": CFG.routes["support_reply"]
                                                     .model_copy(update={"learn": "shadow"})}})
    assert ids(plan(0.5, cfg=shadow_route)) == configured     # the live config wins over the ranking's mode


def test_cooldowns_and_conversation_pins_override_the_learned_order() -> None:
    cd = {GEMINI: Cooldown(target=GEMINI, until=NOW + 30, reason="Overloaded")}
    p = build_plan(CFG, PlanInput(task_type="support_reply"), cd, NOW, rankings={"support_reply": ranking()})
    assert ids(p)[0] == GPT_US and GEMINI in p.skipped
    pinned = plan(0.0, pinned_target=CLAUDE)
    assert ids(pinned)[0] == CLAUDE
