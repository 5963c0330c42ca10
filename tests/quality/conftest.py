"""Fixtures of the quality-across-failover tests: a fresh fast simulator per test, configs with a
route's ``prompts`` / ``normalize`` blocks, and helpers reading what each target received."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from activities.storage.prompt_tables import prompt_rewrites
from activities.storage.tables import outcomes
from core.config import SwitchyardConfig
from simulator.server import run_simulator
from tests.integration.test_request_path import FAST_SCENARIO
from worker.config_loader import parse_config
from worker.simulated import sim_config_dict


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator:
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST_SCENARIO))
    async with run_simulator(str(path), port=0) as s:
        yield s


@pytest.fixture(autouse=True)
async def no_rewrites(engine) -> None:
    """Rewrites live in the shared test database; each test starts with none."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(prompt_rewrites))


def config(sim, **routes: dict[str, Any]) -> SwitchyardConfig:
    """The simulated config with each named route's fields updated (``route=dict(...)``)."""
    data = sim_config_dict(sim.base_url)
    for name, fields in routes.items():
        data["routes"].setdefault(name, {"chain": ["openai/gpt-4o"]}).update(fields)
    return parse_config(yaml.safe_dump(data), "quality-test")


async def fault(sim, target: str, **settings: Any) -> None:
    async with httpx.AsyncClient() as c:
        (await c.post(f"{sim.base_url}/_sim/apply", json={"target": target, "set": settings})).raise_for_status()


async def received(sim, target: str | None = None) -> dict[str, list[dict]]:
    """What each target received (``GET /_sim/requests``)."""
    async with httpx.AsyncClient() as c:
        r = await c.get(f"{sim.base_url}/_sim/requests", params={"target": target} if target else None)
        r.raise_for_status()
        return r.json()


async def sent(sim, target: str, marker: str) -> list[dict]:
    """The requests ``target`` received whose last user message contains ``marker`` (health
    probes, which also reach the simulator, are left out)."""
    return [r for r in (await received(sim, target)).get(target, []) if marker in r["last_user"]]


async def calls(sim) -> dict[str, int]:
    """Generation calls per target so far (``GET /_sim/stats``)."""
    async with httpx.AsyncClient() as c:
        stats = (await c.get(f"{sim.base_url}/_sim/stats")).json()
    return {t: s["calls"] for t, s in stats["targets"].items()}


async def outcome_rows(engine, workflow_id: str) -> list:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(outcomes).where(outcomes.c.workflow_id == workflow_id)
                                   .order_by(outcomes.c.seq, outcomes.c.try_no))).all()
