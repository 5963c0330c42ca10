"""Fixtures for the simulator tests: a fast test-local scenario served on loopback, and a small
client for the ``/_sim`` control API. Latencies are a few milliseconds so the suite stays fast."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulator.scenario import Scenario, parse_scenario
from simulator.server import RunningSimulator, run_simulator

OPENAI = "openai/gpt-4o@us-east"
OPENAI_EU = "openai/gpt-4o@eu-west"
ANTHROPIC = "anthropic/claude-sonnet-4@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"

FAST: dict[str, Any] = {
    "name": "sim-tests",
    "source": "synthetic",
    "seed": 42,
    "time_scale": 1,
    "baseline": {
        "latency_ms": {"median": 4, "p99": 10},
        "ttft_ms": {"median": 1, "p99": 3},
        "output_tokens": {"median": 40, "p99": 80},
    },
    "targets": {OPENAI: {}, OPENAI_EU: {}, ANTHROPIC: {}, GEMINI: {}},
    "task_profiles": {"json_extraction": {OPENAI_EU: {"quality": 0.0}}},
}


def _fast(**overrides: Any) -> Scenario:
    return parse_scenario({**FAST, **overrides})


@pytest.fixture
def fast_scenario() -> Callable[..., Scenario]:
    """Builds the fast scenario with top-level keys replaced (e.g. ``timeline=[...]``)."""
    return _fast


class Control:
    """Calls to the simulator's control API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def apply(self, target: str, reset: bool = False, **settings: Any) -> dict:
        step: dict[str, Any] = {"target": target}
        if settings:
            step["set"] = settings
        if reset:
            step["reset"] = True
        response = await self.client.post("/_sim/apply", json=step)
        assert response.status_code == 200, response.text
        return response.json()

    async def stats(self, target: str) -> dict:
        return (await self.client.get("/_sim/stats")).json()["targets"][target]

    async def state(self) -> dict:
        return (await self.client.get("/_sim/state")).json()


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(_fast()) as running:
        yield running


@pytest.fixture
async def http(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as client:
        yield client


@pytest.fixture
def control(http: httpx.AsyncClient) -> Control:
    return Control(http)
