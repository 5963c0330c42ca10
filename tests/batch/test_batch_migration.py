"""Migration ``0005_batches`` on SQLite and PostgreSQL: it creates exactly the tables of
``activities/storage/batch_tables.py``, and it goes down and up again on its own branch without
touching other features' tables."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from activities.storage import batch_tables
from activities.storage.engine import async_url, make_engine
from activities.storage.tables import metadata
from migrations.runner import downgrade, upgrade

PG = os.environ.get("SWITCHYARD_TEST_DATABASE_URL") or "postgresql://root@127.0.0.1:5432/test"
OURS = {t.name for t in (batch_tables.batches, batch_tables.batch_items, batch_tables.batch_results)}


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    if not PG.startswith("postgres"):
        pytest.skip("no PostgreSQL configured")
    admin = create_async_engine(async_url(PG), isolation_level="AUTOCOMMIT")
    name = f"sy_mig_{uuid.uuid4().hex[:10]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001 - no server answering means "not available"
        await admin.dispose()
        pytest.skip("PostgreSQL is not available")
    yield PG.rsplit("/", 1)[0] + "/" + name
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def _tables_and_diffs(url: str) -> tuple[set[str], list[object]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            diffs = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(
                c, opts={"compare_type": True}), metadata)) if OURS <= names else []
    finally:
        await engine.dispose()
    return names, [d for d in diffs if _table_of(d) in OURS]


def _table_of(diff: Any) -> str:
    """The table an Alembic autogenerate diff is about (its tuple shapes: ``(op, Table)``,
    ``(op, schema, table, Column)``, ``(op, Index|Constraint)``, or a list of ``modify_*`` tuples
    ``(op, schema, table, column, ...)``)."""
    if isinstance(diff, list):
        return _table_of(diff[0])
    op = diff[0]
    if op in ("add_table", "remove_table"):
        return diff[1].name
    if op in ("add_column", "remove_column") or op.startswith("modify_"):
        return diff[2]
    return diff[1].table.name


async def test_0005_matches_the_tables_module_and_goes_down_and_up_alone(fresh_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_url)
    names, diffs = await _tables_and_diffs(fresh_url)
    assert OURS <= names and diffs == []
    await asyncio.to_thread(downgrade, fresh_url, "0005_batches@-1")
    after, _ = await _tables_and_diffs(fresh_url)
    assert after == names - OURS and "outcomes" in after
    await asyncio.to_thread(upgrade, fresh_url)
    again, diffs = await _tables_and_diffs(fresh_url)
    assert again == names and diffs == []
