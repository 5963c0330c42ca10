"""Fixtures for the other APIs (``/v1/embeddings``, ``/v1/responses``, thinking on ``/v1/messages``):
the simulator of ``tests/gateway`` with three embedding targets and Claude Sonnet 4 added, and the
gateway with an ``embeddings`` route (OpenAI's ``text-embedding-3-small``, Gemini's
``text-embedding-004``, then a local ``nomic-embed-text`` on an OpenAI-compatible server) and an
``analysis`` route (Claude Sonnet 4, which thinks, then gpt-4o)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml

from simulator.server import RunningSimulator, run_simulator
from tests.gateway.conftest import GatewayUnderTest, gateway_under_test, no_cooldowns  # noqa: F401
from tests.integration.test_request_path import FAST_SCENARIO
from worker.simulated import sim_config_dict

OPENAI_EMB = "openai/text-embedding-3-small@us-east"
GEMINI_EMB = "gemini/text-embedding-004@us-central"
LOCAL_EMB = "openai/nomic-embed-text@local"  # a self-hosted OpenAI-compatible server (Ollama, llama.cpp, vLLM)
SONNET_4 = "anthropic/claude-sonnet-4@us-east"  # the simulated config's thinking target
EMBEDDING_TARGETS = [
    {"provider": "openai", "model": "text-embedding-3-small", "region": "us-east", "capabilities": ["embeddings"],
     "context_window": 8191, "price": {"input": 0.02, "output": 0.0}, "timeout_s": 10, "embedding_dimensions": 1536},
    {"provider": "gemini", "model": "text-embedding-004", "region": "us-central", "capabilities": ["embeddings"],
     "context_window": 2048, "price": {"input": 0.01, "output": 0.0}, "timeout_s": 10, "embedding_dimensions": 768},
    {"provider": "openai", "model": "nomic-embed-text", "region": "local", "capabilities": ["embeddings"],
     "context_window": 8192, "price": {"input": 0.0, "output": 0.0}, "timeout_s": 10, "embedding_dimensions": 768},
]
EMBEDDING_ROUTE = {"description": "Embeddings for search and the semantic cache",
                   "chain": ["openai/text-embedding-3-small", "gemini/text-embedding-004",
                             "openai/nomic-embed-text"], "retries": 0,
                   "deadline_s": 30}


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[RunningSimulator]:
    sc = copy.deepcopy(FAST_SCENARIO)
    sc["targets"].update({OPENAI_EMB: {}, GEMINI_EMB: {}, LOCAL_EMB: {}, SONNET_4: {}})
    path = tmp_path / "apis.yaml"
    path.write_text(yaml.safe_dump(sc))
    async with run_simulator(str(path), port=0) as s:
        yield s


ANALYSIS_ROUTE = {"description": "Reasoning-heavy answers: a thinking target first",
                  "chain": ["anthropic/claude-sonnet-4", "openai/gpt-4o"], "retries": 0, "deadline_s": 30}


def api_config(base_url: str) -> dict[str, Any]:
    """Top-level overrides: the simulated config's targets plus the embedding targets, and its
    routes plus ``embeddings``."""
    data = sim_config_dict(base_url)
    return {"targets": data["targets"] + EMBEDDING_TARGETS,
            "routes": {**data["routes"], "embeddings": EMBEDDING_ROUTE, "analysis": ANALYSIS_ROUTE}}


@pytest.fixture
async def gw(temporal_env, db_url, sim) -> AsyncIterator[GatewayUnderTest]:
    async with gateway_under_test(temporal_env.client, sim, db_url, config=api_config(sim.base_url)) as gut:
        yield gut
