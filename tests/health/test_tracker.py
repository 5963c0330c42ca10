"""Scoring, levels, shares and routing on scripted outcome sequences with a fake clock."""

from __future__ import annotations

import random

from core.config import SwitchyardConfig
from core.health.board import HealthBoard, settings_for
from core.health.routing import apply_health
from core.health.settings import HealthSettings
from core.health.signals import Vote, observe
from core.health.tracker import Tracker
from core.health.view import TargetView
from core.plan import PlanEntry

S = HealthSettings(open_jitter=0.0)
SIGMA = 0.568  # ln(1500/400)/2.326: the simulator's basic-* latency spread


class Feed:
    """Scripted traffic into one tracker at ``rate`` calls/s; records every transition note."""

    def __init__(self, s: HealthSettings = S, seed: int = 1, rate: float = 10.0) -> None:
        self.t, self.s, self.rng, self.now, self.dt = Tracker.new("p", s), s, random.Random(seed), 0.0, 1.0 / rate
        self.notes: list[tuple[float, str]] = []

    def run(self, seconds: float, *, median: float = 400.0, error: float = 0.001, flag: str | None = None,
            flag_rate: float = 0.0, status: str = "ServerError") -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += self.dt
            if self.rng.random() < error:
                obs = observe("p", self.now, status, latency_ms=50.0)
            else:
                flags = flag if flag and self.rng.random() < flag_rate else ""
                obs = observe("p", self.now, "ok", latency_ms=median * self.rng.lognormvariate(0, SIGMA),
                              output_tokens=int(200 * self.rng.lognormvariate(0, 0.4)), quality_flags=flags)
            self.notes += [(self.now, n) for n in self.t.observe(obs, self.s, self.rng)]

    def view(self) -> TargetView:
        return self.t.view(self.now, self.s)


def test_no_faults_10000_calls_no_transition() -> None:
    f = Feed(seed=107)
    f.run(1000.0)  # 10,000 calls, 0.1 % random errors, lognormal latency
    assert f.notes == []
    v = f.view()
    assert (v.state, v.share, v.breaker) == ("healthy", 1.0, "closed") and v.score == 1.0


def test_5x_slowdown_shifts_traffic_within_ten_calls_and_fails_back_step_by_step() -> None:
    f = Feed(seed=101)
    f.run(30.0)
    onset = f.now
    f.run(30.0, median=2000.0)
    first_shift = next(t for t, n in f.notes if n.startswith("share"))
    assert first_shift - onset <= 2.0  # <= 20 calls at 10 calls/s
    v = f.view()
    assert v.state == "down" and v.share == S.severe_share and "latency" in v.reasons[0]
    recovered = f.now
    f.run(60.0)
    assert f.view().share == 1.0 and f.view().state == "healthy"
    back = [t for t, n in f.notes if n.startswith("share") and n.endswith("-> 100% (failback step)")]
    assert back and back[0] - recovered <= 30.0
    ups = [float(n.split("-> ")[1].split("%")[0]) / 100 for _, n in f.notes if "failback step" in n]
    assert ups == [0.25, 0.5, 1.0]  # failback never skips a ramp step (R11.4)


def test_outage_opens_breaker_on_fifth_failure_and_probes_fail_it_back() -> None:
    f = Feed(seed=100)
    f.run(20.0)
    f.run(0.5, error=1.0, status="Overloaded")
    v = f.view()
    assert v.breaker == "open" and v.share == 0.0 and v.state == "down" and v.score == 0.0
    f.run(20.0, error=1.0, status="Overloaded")
    f.run(40.0)  # recovered: successes (as probes or last-resort calls) close it and the share ramps back
    assert f.view().breaker == "closed" and f.view().share == 1.0


def test_429_storm_is_capacity_not_failure() -> None:
    f = Feed(seed=5)
    f.run(20.0)
    f.run(20.0, error=1.0, status="RateLimited")
    assert f.notes == [] and f.view().breaker == "closed"


def test_5_percent_errors_degrade_without_opening_and_recover() -> None:
    f = Feed(seed=102)
    f.run(30.0)
    f.run(60.0, error=0.05)
    v = f.view()
    assert v.state == "degraded" and v.breaker == "closed" and v.share == S.degraded_share_first
    assert any("error rate" in r for r in v.reasons)
    f.run(60.0)
    assert f.view().state == "healthy" and f.view().share == 1.0


def test_quality_alarm_needs_corroboration_then_degrades() -> None:
    f = Feed(seed=20250817)
    f.run(30.0)
    f.run(4.0, flag="foreign_script", flag_rate=0.16)
    assert f.view().level == "warn"  # statistical alarm alone: warn until it holds corroborate_s
    f.run(20.0, flag="foreign_script", flag_rate=0.16)
    v = f.view()
    assert v.state == "degraded" and any("foreign_script" in r for r in v.reasons)


def test_hysteresis_steps_down_one_level_at_a_time() -> None:
    f = Feed(seed=3)
    f.run(30.0)
    f.run(10.0, median=2400.0)
    assert f.t.levels.level.name == "SEVERE"
    f.run(60.0)
    levels = [n for _, n in f.notes if "->" in n and not n.startswith("share")]
    down = levels[levels.index("warn -> degraded") + 2:] if "warn -> degraded" in levels else levels
    assert [n.split(" after")[0] for n in down if "calm" in n] == ["severe -> degraded", "degraded -> warn",
                                                                  "warn -> healthy"]


def test_thumbs_down_wave_warns_only() -> None:
    t, now = Tracker.new("p", S), 0.0
    for i in range(100):
        t.vote(Vote(target="p", at=now + i, positive=i % 10 != 0), S)  # 10 % down: the prior baseline
    assert t.view(100, S).level == "healthy"
    for i in range(40):
        t.vote(Vote(target="p", at=200 + i, positive=False), S)
    v = t.view(240, S)
    assert v.level == "warn" and v.share == 1.0 and "thumbs-down" in v.reasons[0]


def test_tracker_state_round_trips_through_json() -> None:
    f = Feed(seed=9)
    f.run(20.0)
    f.run(1.0, error=1.0)
    again = Tracker.model_validate(f.t.model_dump(mode="json"))
    assert again.view(f.now, S) == f.view()


def entry(target: str) -> PlanEntry:
    return PlanEntry(target=target, provider="p", protocol="openai", model="m", region="r", timeout_s=10,
                     context_window=1000)


def test_routing_demotes_by_share_and_keeps_the_target_as_last_resort() -> None:
    views = {"a": TargetView(target="a", state="degraded", share=0.5, score=0.6), "b": TargetView(target="b")}
    kept, panic = apply_health([entry("a"), entry("b")], views, draw=0.3)
    assert [e.target for e in kept] == ["a", "b"] and not panic
    moved, _ = apply_health([entry("a"), entry("b")], views, draw=0.7)
    assert [e.target for e in moved] == ["b", "a"] and "moved behind" in moved[1].reasons[-1]
    assert moved[1].share == 0.5 and moved[1].health == "degraded"


def test_all_targets_degraded_panic_splits_by_score_and_keeps_least_bad_reachable() -> None:
    views = {"a": TargetView(target="a", state="down", breaker="open", share=0.0, score=0.0),
             "b": TargetView(target="b", state="degraded", share=0.5, score=0.75),
             "c": TargetView(target="c", state="degraded", share=0.5, score=0.25)}
    firsts = [apply_health([entry(x) for x in "abc"], views, draw=d / 100)[0][0].target for d in range(50, 100)]
    assert set(firsts) <= {"a", "b", "c"} and firsts.count("b") > firsts.count("c") > firsts.count("a")
    order, panic = apply_health([entry(x) for x in "abc"], views, draw=0.99)
    assert panic and len(order) == 3 and "panic" in order[0].reasons[-1]
    all_open = {k: TargetView(target=k, state="down", breaker="open", share=0.0, score=0.0) for k in "ab"}
    order, panic = apply_health([entry("a"), entry("b")], all_open, draw=0.4)
    assert panic and [e.target for e in order] == ["a", "b"]  # never every target removed


def test_observe_only_annotates_but_does_not_move() -> None:
    views = {"a": TargetView(target="a", state="down", share=0.0, score=0.1, enforced=False),
             "b": TargetView(target="b")}
    order, _ = apply_health([entry("a"), entry("b")], views, draw=0.9)
    assert [e.target for e in order] == ["a", "b"] and order[0].health == "down"


def test_per_target_overrides_merge_over_global_settings() -> None:
    cfg = SwitchyardConfig.model_validate({
        "providers": {"p": {"protocol": "openai", "base_url": "http://x"}},
        "targets": [{"provider": "p", "model": "m", "region": "r", "health": {"consecutive_failures": 2}}],
        "routes": {"r": {"chain": ["p/m"]}}, "health": {"min_calls": 50, "consecutive_failures": 7}})
    s = settings_for(cfg, "p/m@r")
    assert (s.consecutive_failures, s.min_calls, s.window_s) == (2, 50, 30.0)
    board = HealthBoard(lambda t: settings_for(cfg, t), rng=random.Random(1))
    board.observe(observe("p/m@r", 1.0, "ServerError"))
    board.observe(observe("p/m@r", 1.1, "ServerError"))
    assert board.views(1.2)["p/m@r"].breaker == "open"
