"""Fixtures for the streaming tests: a simulator whose answers stream slowly enough to see tokens
arrive, and the gateway served over loopback (uvicorn on port 0) for the official SDKs.

Every target answers the same fixed length (``output_tokens`` median = p99) over ``latency_ms``,
so a rescued answer can be compared with one healthy target's whole answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import yaml

from simulator.server import RunningSimulator, run_simulator
from tests.gateway.conftest import GatewayUnderTest, gateway_under_test
from worker.gateway.server import serve_app

PRIMARY = "openai/gpt-4o@us-east"
SECOND = "openai/gpt-4o@eu-west"
CLAUDE = "anthropic/claude-3-5-sonnet@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"
LOCAL = "openai/local-llama-3.1-8b@local"
TARGETS = [PRIMARY, SECOND, CLAUDE, GEMINI, LOCAL]
MESSAGES = [{"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "Where is my refill order NW-48213 and when will it ship?"}]

STREAM_SCENARIO = {
    "name": "test-streaming", "source": "synthetic", "summary": "slow fixed-length streams", "time_scale": 1,
    "seed": 7,
    "baseline": {"latency_ms": {"median": 1200, "p99": 1200}, "ttft_ms": {"median": 40, "p99": 40},
                 "output_tokens": {"median": 60, "p99": 60}, "error_rate": 0.0},
    "targets": {t: {} for t in TARGETS},
    "timeline": [],
}


@pytest.fixture(autouse=True)
async def _database_first(engine) -> None:
    """Set the database up before the shared health reset (tests/conftest.py) reads it."""


@pytest.fixture
async def stream_sim(tmp_path) -> AsyncIterator[RunningSimulator]:
    path = tmp_path / "streaming.yaml"
    path.write_text(yaml.safe_dump(STREAM_SCENARIO))
    async with run_simulator(str(path), port=0) as s:
        yield s


@pytest.fixture
async def sgw(temporal_env, db_url, stream_sim) -> AsyncIterator[GatewayUnderTest]:
    """The keyless gateway in front of :data:`STREAM_SCENARIO`."""
    async with gateway_under_test(temporal_env.client, stream_sim, db_url) as gut:
        yield gut


@pytest.fixture
async def sgw_url(sgw: GatewayUnderTest) -> AsyncIterator[str]:
    async with serve_app(sgw.app, port=0) as url:
        yield url


async def fault(sim: RunningSimulator, target: str, **settings: Any) -> None:
    """Apply simulator settings to ``target`` now."""
    async with httpx.AsyncClient() as c:
        (await c.post(f"{sim.base_url}/_sim/apply", json={"target": target, "set": settings})).raise_for_status()
