"""The database as CLI commands open it: created and migrated first, disposed after.

Commands that only read or write the database (``health``, ``keys``, ``batch list``/``export``)
need no Temporal server; migrating first means a fresh ``$SWITCHYARD_HOME`` reads as empty instead
of failing on missing tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.engine import make_engine
from migrations.runner import upgrade
from worker.settings import Settings


@asynccontextmanager
async def migrated_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on ``settings.db_url()`` after applying the migrations (creating the home
    directory for the embedded SQLite file); disposed on exit."""
    settings.home.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, settings.db_url())
    engine = make_engine(settings.db_url())
    try:
        yield engine
    finally:
        await engine.dispose()
