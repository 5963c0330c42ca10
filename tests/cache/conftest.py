"""Fixtures of the response-cache tests: the gateway (real Temporal, real database, the simulator
over loopback) with the response cache on for ``support_reply`` and ``contract_clause_summary``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from activities.storage.cache_tables import cache_entries
from tests.gateway.conftest import GatewayUnderTest, gateway_under_test, sim  # noqa: F401 - fixture
from tests.integration.test_request_path import FAST_SCENARIO
from worker.simulated import sim_config_dict

ALL_TARGETS = list(FAST_SCENARIO["targets"])
CACHE = {"mode": "exact", "ttl_s": 300, "stale_if_error_s": 600, "max_temperature": 0.5}


@asynccontextmanager
async def cached_gateway(client, simulator, db_url: str, *, cache: dict[str, Any] | None = None,
                         store: dict[str, Any] | None = None) -> AsyncIterator[GatewayUnderTest]:
    """The gateway with ``cache`` (default :data:`CACHE`) on two routes and ``store`` as ``cache_store``."""
    routes = sim_config_dict(simulator.base_url)["routes"]
    for name in ("support_reply", "contract_clause_summary"):
        routes[name]["cache"] = cache or CACHE
    config = {"routes": routes, "cache_store": store or {}}
    async with gateway_under_test(client, simulator, db_url, config=config) as gut:
        yield gut


@pytest.fixture(autouse=True)
async def empty_cache(engine) -> None:
    """Entries live in the shared test database; each test starts with none."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(cache_entries))


@pytest.fixture
async def gw(temporal_env, db_url, sim) -> AsyncIterator[GatewayUnderTest]:  # noqa: F811
    async with cached_gateway(temporal_env.client, sim, db_url) as gut:
        yield gut


async def all_failing(gut: GatewayUnderTest) -> None:
    """Every target of the simulated chains answers 503."""
    for t in ALL_TARGETS:
        await gut.fault(t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])


async def age_entries(engine, gut: GatewayUnderTest, *, expired_by_s: float, stale_left_s: float) -> None:
    """Move every entry past its expiry by ``expired_by_s`` with ``stale_left_s`` of its stale
    window left (in the database; the gateway's in-memory copies are dropped so it reads them)."""
    now = time.time()
    async with engine.begin() as conn:
        await conn.execute(sa.update(cache_entries).values(expires_at=now - expired_by_s,
                                                           stale_until=now + stale_left_s))
    gut.gw.services.cache.store.clear_memory()
