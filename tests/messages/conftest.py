"""Fixtures for the ``/v1/messages`` tests: the gateway tests' simulator and gateway (``tests/gateway``),
served over loopback for the official ``anthropic`` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.gateway.conftest import GatewayUnderTest, gw_auth, gw_open, no_cooldowns, sim
from worker.gateway.server import serve_app

__all__ = ["gw_auth", "gw_open", "no_cooldowns", "sim"]

PRIMARY = "openai/gpt-4o@us-east"
SECOND = "openai/gpt-4o@eu-west"
CLAUDE = "anthropic/claude-3-5-sonnet@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"
MESSAGES = [{"role": "user", "content": "Where is my refill order NW-48213?"}]
SYSTEM = "You are a support agent."
TOOLS = [{"name": "lookup_order", "description": "Find an order by its id.",
          "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}},
                           "required": ["order_id"]}}]


@pytest.fixture
async def base_url(gw_open: GatewayUnderTest) -> AsyncIterator[str]:
    """The keyless gateway's address (the anthropic SDK appends ``/v1/messages``)."""
    async with serve_app(gw_open.app, port=0) as url:
        yield url


async def break_targets(gut: GatewayUnderTest, *targets: str, status: int = 503) -> None:
    """Every call of ``targets`` fails with ``status`` from now on (an outage)."""
    for t in targets:
        await gut.fault(t, error_rate=1.0, errors=[{"status": status, "share": 1.0}])
