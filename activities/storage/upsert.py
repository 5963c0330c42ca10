"""Dialect-aware ``INSERT ... ON CONFLICT`` for SQLite and PostgreSQL (both support the syntax)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(dialect: str, table: sa.Table) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def _other_columns(table: sa.Table, keys: Sequence[str]) -> list[str]:
    return [c.name for c in table.columns if c.name not in keys and not c.primary_key]


def upsert_stmt(conn: AsyncConnection, table: sa.Table, values: dict[str, Any] | list[dict[str, Any]],
                keys: Sequence[str], update: Sequence[str] | None = None, where: Any = None) -> Any:
    """An insert that updates ``update`` columns (default: all but ``keys``) on a ``keys`` conflict;
    with ``update=[]`` it does nothing on conflict. ``where(excluded)`` optionally guards the update
    (it receives the ``excluded`` pseudo-row)."""
    stmt = _insert(conn.dialect.name, table).values(values)
    cols = list(update) if update is not None else _other_columns(table, keys)
    if not cols:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: getattr(stmt.excluded, c) for c in cols},
                                      where=where(stmt.excluded) if where is not None else None)


@lru_cache(maxsize=64)
def upsert_template(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> Any:
    """An ``INSERT ... ON CONFLICT (keys) DO UPDATE`` of every other column, built once per
    dialect and table and executed with a parameter dict (``conn.execute(stmt, values)``), so
    SQLAlchemy compiles it once instead of on every call (hot path: one outcome row per call)."""
    stmt = _insert(dialect, table)
    return stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: getattr(stmt.excluded, c) for c in _other_columns(table, keys)})
