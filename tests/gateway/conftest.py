"""Fixtures for the gateway tests: a simulator with fast targets, and the gateway app on a real
Temporal dev server and database, reached in process through ``httpx.ASGITransport``.

``GatewayUnderTest.started`` records every ``RequestInput`` the gateway started a workflow for, so
a test can assert that bad input never reached Temporal; ``sim_calls()`` counts the provider calls
the simulator saw.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml
from starlette.applications import Starlette
from temporalio.client import Client

from activities.storage.tables import cooldowns
from core.request import RequestInput
from simulator.server import RunningSimulator, run_simulator
from tests.configs import sim_config
from tests.integration.test_request_path import FAST_SCENARIO
from worker.config_loader import ConfigHolder
from worker.gateway.app import build_app
from worker.gateway.state import Gateway, open_gateway

PRIMARY = "openai/gpt-4o@us-east"
SECOND = "openai/gpt-4o@eu-west"
MESSAGES = [{"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "Where is my refill order NW-48213?"}]


@pytest.fixture(autouse=True)
async def no_cooldowns(engine) -> None:
    """Cooldowns live in the shared database; each test starts without any."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(cooldowns))


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[RunningSimulator]:
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST_SCENARIO))
    async with run_simulator(str(path), port=0) as s:
        yield s


@dataclass
class GatewayUnderTest:
    """A gateway app with its worker, an ASGI client for it, and the simulator behind it."""

    gw: Gateway
    app: Starlette
    http: httpx.AsyncClient
    sim: RunningSimulator
    started: list[RequestInput] = field(default_factory=list)
    eager: list[bool] = field(default_factory=list)  # per start: did the server hand the first task back

    def sim_calls(self, target: str | None = None) -> int:
        """Provider calls the simulator saw (of ``target``, or of every target)."""
        snap = self.sim.world.stats.snapshot(self.sim.world.targets)["targets"]
        return sum(v["calls"] for t, v in snap.items() if target in (None, t))

    async def fault(self, target: str, **settings: Any) -> None:
        """Apply simulator settings to ``target`` now (``{"reset": True}`` to clear)."""
        reset = settings.pop("reset", False)
        body = {"target": target, "reset": True} if reset else {"target": target, "set": settings}
        async with httpx.AsyncClient() as c:
            (await c.post(f"{self.sim.base_url}/_sim/apply", json=body)).raise_for_status()


@asynccontextmanager
async def gateway_under_test(client: Client, sim: RunningSimulator, db_url: str, *,
                             config: dict[str, Any] | None = None, **gateway: Any) -> AsyncIterator[GatewayUnderTest]:
    """The gateway on a fresh task queue with the simulated config, ``gateway`` settings and
    top-level ``config`` overrides (e.g. ``{"streams": {...}}``)."""
    cfg = sim_config(sim.base_url, gateway={"auth": "off", "port": 0, **gateway}, **(config or {}))
    async with open_gateway(client, ConfigHolder.fixed(cfg), db_url, f"gw-{uuid.uuid4().hex[:8]}",
                            graceful_shutdown=timedelta(0)) as gw:
        app = build_app(gw)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway",
                                     timeout=60) as http:
            gut = GatewayUnderTest(gw=gw, app=app, http=http, sim=sim)
            start = gw.sy.start

            async def spy(inp: RequestInput, **kw: Any):  # type: ignore[no-untyped-def]
                gut.started.append(inp)
                handle = await start(inp, **kw)
                # set by temporalio's client when the start response carried the first workflow task
                gut.eager.append(bool(getattr(handle, "__temporal_eagerly_started", False)))
                return handle
            gw.sy.start = spy  # type: ignore[method-assign]
            yield gut


@pytest.fixture
async def gw_open(temporal_env, db_url, sim) -> AsyncIterator[GatewayUnderTest]:
    """Keyless gateway (``auth: off``)."""
    async with gateway_under_test(temporal_env.client, sim, db_url) as gut:
        yield gut


@pytest.fixture
async def gw_auth(temporal_env, db_url, sim) -> AsyncIterator[GatewayUnderTest]:
    """Gateway with ``auth: required``."""
    async with gateway_under_test(temporal_env.client, sim, db_url, auth="required") as gut:
        yield gut


def chat(**overrides: Any) -> dict[str, Any]:
    """A Chat Completions body (``model`` gpt-4o) with ``overrides``."""
    return {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 100, **overrides}
