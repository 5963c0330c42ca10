"""The Alembic revisions build exactly the schema the table modules describe.

Runs against the session database (PostgreSQL when available, else SQLite) migrated to every
head; any drift between a ``*_tables.py`` module and its revision shows up as a diff.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import activities.storage.alert_tables  # noqa: F401 - registers its tables on the shared metadata
import activities.storage.api_keys  # noqa: F401
import activities.storage.batch_tables  # noqa: F401
import activities.storage.budget_tables  # noqa: F401
import activities.storage.cache_tables  # noqa: F401
import activities.storage.conversation_tables  # noqa: F401
import activities.storage.drill_tables  # noqa: F401
import activities.storage.health_tables  # noqa: F401
import activities.storage.prompt_tables  # noqa: F401
import activities.storage.ranking_tables  # noqa: F401
import activities.storage.rate_tables  # noqa: F401
import activities.storage.response_tables  # noqa: F401
import activities.storage.semantic_tables  # noqa: F401
import activities.storage.stream_tables  # noqa: F401
from activities.storage.tables import metadata


def _diff(sync_conn) -> list:  # type: ignore[no-untyped-def]
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return [d for d in compare_metadata(ctx, metadata) if not _ignorable(d)]


def _ignorable(diff) -> bool:  # type: ignore[no-untyped-def]
    # alembic's own version table is not part of our metadata
    return diff[0] == "remove_table" and diff[1].name == "alembic_version"


async def test_migrated_schema_matches_the_table_modules(engine) -> None:
    async with engine.connect() as conn:
        diffs = await conn.run_sync(_diff)
    assert diffs == []
