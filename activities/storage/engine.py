"""Async SQLAlchemy engine for SQLite (embedded default) or PostgreSQL (``DATABASE_URL``).

URLs are normalised to async drivers: ``postgresql://`` / ``postgres://`` -> ``postgresql+asyncpg://``,
``sqlite:///path`` -> ``sqlite+aiosqlite:///path``. SQLite connections get WAL journaling,
``synchronous=NORMAL`` and a 10 s busy timeout, so a worker, a gateway and the CLI can share one
file (SQLite docs, "Write-Ahead Logging").
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """The async-driver form of a database URL (see module docstring)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url


def sync_url(url: str) -> str:
    """The URL Alembic's async env receives (it runs migrations through the async driver too)."""
    return async_url(url)


def is_sqlite(url: str) -> bool:
    return async_url(url).startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Create the async engine. Raises ``sqlalchemy.exc.ArgumentError`` on an unusable URL."""
    url = async_url(url)
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 10})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
