"""Target cooldowns shared across workers through the database.

A cooldown says "planning skips this target until ``until`` (unix s)". The attempt activity sets
one after a long Retry-After or a failure class with a cooldown (``core/errors.py``); planning
reads them. Reads are served from an in-process cache refreshed at most every ``refresh_s``
seconds (default 1 s), so the hot path costs no query and another worker's cooldown arrives
within about a second; a cooldown set in this process is visible at once.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.tables import cooldowns
from activities.storage.upsert import upsert_stmt
from core.plan import Cooldown


class CooldownStore:
    """Set and read cooldowns (see module docstring). ``clock`` returns unix seconds."""

    def __init__(self, engine: AsyncEngine, *, refresh_s: float = 1.0, clock=time.time) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._clock = clock
        self._cache: dict[str, Cooldown] = {}
        self._loaded_at = float("-inf")

    async def set(self, target: str, until: float, reason: str) -> None:
        """Cool ``target`` down until ``until``; an existing later cooldown is kept."""
        now = self._clock()
        current = self._cache.get(target)
        if current and current.until >= until:
            return
        self._cache[target] = Cooldown(target=target, until=until, reason=reason)
        async with self._engine.begin() as conn:
            await conn.execute(upsert_stmt(
                conn, cooldowns, {"target": target, "until": until, "reason": reason, "updated_at": now},
                ["target"], where=lambda excluded: cooldowns.c.until < excluded.until))

    async def clear(self, target: str) -> None:
        """Remove a target's cooldown (operators, tests)."""
        self._cache.pop(target, None)
        async with self._engine.begin() as conn:
            await conn.execute(sa.delete(cooldowns).where(cooldowns.c.target == target))

    async def active(self) -> dict[str, Cooldown]:
        """Cooldowns not yet over, by target id."""
        now = self._clock()
        if now - self._loaded_at >= self._refresh_s:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(sa.select(cooldowns).where(cooldowns.c.until > now))).all()
            fresh = {r.target: Cooldown(target=r.target, until=r.until, reason=r.reason) for r in rows}
            for k, c in self._cache.items():  # keep local ones the DB read may predate
                if c.until > fresh.get(k, c).until or k not in fresh:
                    fresh[k] = c
            self._cache, self._loaded_at = fresh, now
        return {k: c for k, c in self._cache.items() if c.until > now}
