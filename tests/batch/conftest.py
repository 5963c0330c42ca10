"""Fixtures of the batch tests: no cooldowns left over from other tests, a fast simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from activities.storage.tables import cooldowns
from simulator.server import run_simulator
from tests.batch.helpers import scenario_file


@pytest.fixture(autouse=True)
async def no_cooldowns(engine) -> None:
    """Cooldowns live in the shared database; each test starts without any."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(cooldowns))


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator:
    async with run_simulator(str(scenario_file(tmp_path)), port=0) as s:
        yield s
