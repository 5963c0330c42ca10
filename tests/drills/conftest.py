"""Eval, drill and canary tests: a fast simulator (every target answers in tens of ms) and a
config of ``examples/simulated.yaml`` pointed at it, with the judge on the ``support_reply`` route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import yaml

from simulator.server import run_simulator

PRIMARY = "openai/gpt-4o@us-east"
EU = "openai/gpt-4o@eu-west"
CLAUDE = "anthropic/claude-3-5-sonnet@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"
LOCAL = "openai/local-llama-3.1-8b@local"

FAST_SCENARIO = {
    "name": "drills-fast", "source": "synthetic", "summary": "fast targets for drill tests", "time_scale": 1,
    "seed": 11,
    "baseline": {"latency_ms": {"median": 15, "p99": 40}, "ttft_ms": {"median": 5, "p99": 15},
                 "output_tokens": {"median": 60, "p99": 60}, "error_rate": 0.0},
    "targets": {t: {} for t in [PRIMARY, EU, CLAUDE, GEMINI, LOCAL]},
    "timeline": [],
}


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator:
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST_SCENARIO))
    async with run_simulator(str(path), port=0) as s:
        yield s


async def apply(sim, target: str, **settings) -> None:
    """Change a simulated target now (the simulator's control API)."""
    async with httpx.AsyncClient() as c:
        (await c.post(f"{sim.base_url}/_sim/apply", json={"target": target, "set": settings})).raise_for_status()


async def sim_calls(sim) -> dict[str, int]:
    """Calls per simulated target so far."""
    async with httpx.AsyncClient() as c:
        stats = (await c.get(f"{sim.base_url}/_sim/stats")).json()
    return {t: s["calls"] for t, s in stats["targets"].items()}
