"""Apply the Alembic migrations from code (``switchyard up``, ``switchyard migrate``, tests).

``upgrade(url)`` is synchronous and runs its own event loop (Alembic's async env uses
``asyncio.run``); from async code call it through ``asyncio.to_thread``. Idempotent: at head it
does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at this package's scripts and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: every head, so feature branches that
    each start from ``0001`` apply side by side)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` drops everything)."""
    command.downgrade(alembic_config(url), revision)
