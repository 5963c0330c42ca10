"""Scenario files load, vendored copies match the shared ones, bad files name the bad field, and the
timeline and the draws follow the format's rules."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
import yaml

from simulator.behaviour import lognormal
from simulator.clock import IncidentClock
from simulator.scenario import (
    Distribution,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    parse_duration,
    parse_scenario,
)
from simulator.timeline import effective_at

VENDORED = Path(__file__).resolve().parents[2] / "simulator" / "scenarios"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "scenarios"


@pytest.mark.parametrize("path", sorted(VENDORED.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_vendored_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.targets


def test_bundled_names_resolve() -> None:
    names = bundled_scenarios()
    assert len(names) == len(list(VENDORED.glob("*.yaml"))) >= 11
    assert load_scenario("basic-primary-down").name == "basic-primary-down"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared scenarios directory next to the repository")
def test_vendored_copies_are_identical_to_shared() -> None:
    """Every shared scenario is vendored unchanged; the vendored README is the shared one plus the
    simulator's own sections (streaming keys), and the simulator may ship scenarios of its own."""
    shared = {p.name: p.read_bytes() for p in SHARED.iterdir() if p.suffix in (".yaml", ".md")}
    vendored = {p.name: p.read_bytes() for p in VENDORED.iterdir() if p.suffix in (".yaml", ".md")}
    readme = shared.pop("README.md")
    assert vendored["README.md"].startswith(readme.rstrip(b"\n"))
    assert shared == {name: vendored.get(name) for name in shared}


def _flapping() -> dict:
    return yaml.safe_load((VENDORED / "basic-flapping.yaml").read_text())


def test_bad_field_is_named_by_path() -> None:
    data = _flapping()
    data["timeline"][2]["set"]["error_rate"] = 1.5
    with pytest.raises(ScenarioError, match=r"timeline\[2\]\.set\.error_rate: .*less than or equal to 1"):
        parse_scenario(data)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["timeline"][1].update(at="5 minutes"), r"timeline\[1\]\.at"),
        (lambda d: d["timeline"][0]["set"].update(bogus=1), r"timeline\[0\]\.set\.bogus"),
        (lambda d: d["baseline"].update(latency_ms={"median": 9, "p99": 1}), r"baseline\.latency_ms"),
        (lambda d: d["baseline"].update(corrupt_kind="gibberish"), r"baseline\.corrupt_kind\[0\]"),
        (lambda d: d["timeline"][3].update(target="openai/gpt-5@mars"), r"timeline\[3\]\.target: unknown"),
        (lambda d: d["targets"].update({"mistral/large@eu": {}}), r"targets\.mistral/large@eu"),
        (lambda d: d["timeline"][0].pop("set"), r"timeline\[0\]: .*'set' or 'reset"),
    ],
)
def test_each_kind_of_mistake_names_its_field(mutate, path: str) -> None:
    data = _flapping()
    mutate(data)
    with pytest.raises(ScenarioError, match=path):
        parse_scenario(data)


def test_missing_file_lists_bundled_names() -> None:
    with pytest.raises(ScenarioError, match="basic-primary-down"):
        load_scenario("no-such-scenario")


def test_durations() -> None:
    assert parse_duration("1500ms") == 1.5
    assert parse_duration("30s") == 30
    assert parse_duration("10m") == 600
    assert parse_duration("2h") == 7200
    assert parse_duration("1h30m") == 5400
    with pytest.raises(ValueError):
        parse_duration(30)


def test_timeline_applies_steps_in_order_with_star_and_reset() -> None:
    scenario = load_scenario("basic-multi-down")
    primary, anthropic = "openai/gpt-4o@us-east", "anthropic/claude-3-5-sonnet@us-east"
    assert effective_at(scenario, primary, 29).error_rate == 0.001
    during = effective_at(scenario, primary, 45)
    assert during.error_rate == 1.0 and [e.status for e in during.errors] == [500]
    assert effective_at(scenario, anthropic, 45).errors[0].body["error"]["type"] == "overloaded_error"
    after = effective_at(scenario, anthropic, 150)  # "*" reset
    assert after.error_rate == 0.001
    assert after.latency_ms == Distribution(median=700, p99=2500)  # the target's own override survives


def test_latency_factor_and_reset() -> None:
    scenario = load_scenario("anthropic-2025-08-output-corruption")
    target = "anthropic/claude-sonnet-4@us-east"
    peak = effective_at(scenario, target, parse_duration("50h"))
    assert (peak.corrupt_share, peak.corrupt_kinds, peak.latency_factor) == (0.16, ("foreign_script",), 1.6)
    assert effective_at(scenario, target, parse_duration("69h")).corrupt_share == 0


def test_lognormal_fits_median_and_p99() -> None:
    rng = random.Random(1)
    draws = sorted(lognormal(rng, Distribution(median=400, p99=1500)) for _ in range(20000))
    assert statistics.median(draws) == pytest.approx(400, rel=0.05)
    assert draws[int(len(draws) * 0.99)] == pytest.approx(1500, rel=0.1)


def test_clock_scales_and_restarts() -> None:
    now = [100.0]
    clock = IncidentClock(60, monotonic=lambda: now[0])
    now[0] += 2
    assert clock.now() == 120
    clock.restart(at=600, time_scale=10)
    now[0] += 1
    assert clock.now() == 610


@pytest.mark.parametrize(("name", "key", "value"), [
    ("stream-cut-mid-answer", "stream_fault", "cut"),
    ("stream-slow-first-token", "ttft_ms", Distribution(median=8000, p99=8000)),
    ("stream-stall-mid-answer", "stream_fault", "stall"),
    ("stream-error-event", "stream_fault", "error_event"),
    ("stream-tool-call-cut", "stream_fault", "tool_cut"),
    ("stream-no-final-event", "stream_fault", "no_final"),
])
def test_streaming_scenarios_fault_the_primary_for_a_while(name: str, key: str, value: object) -> None:
    scenario = load_scenario(name)
    primary = "openai/gpt-4o@us-east"
    assert getattr(effective_at(scenario, primary, 60), key) == value
    assert effective_at(scenario, primary, 60).tokens_per_s == 80
    assert effective_at(scenario, primary, 200).stream_fault is None
    assert effective_at(scenario, primary, 200).ttft_ms.p99 == 600
    assert set(scenario.targets) >= {primary, "openai/gpt-4o@eu-west", "anthropic/claude-3-5-sonnet@us-east",
                                     "gemini/gemini-2.0-flash@us-central", "openai/local-llama-3.1-8b@local"}
