"""The rate-limit store interface and the factory choosing one from ``admission.store``.

A store decides for a list of :class:`core.ratelimit.BucketSpec` atomically (every cost taken, or
none) across every process sharing it, and settles token estimates after the call. A store that
cannot be reached raises :class:`StoreUnavailable`; the gateway then admits the request (a limiter
outage must not become an outage of the service; the log says so).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from core.admission_config import AdmissionConfig
from core.ratelimit import BucketSpec, Decision


class StoreUnavailable(Exception):
    """The store's backend (database or Redis) did not answer."""


class RateStore(Protocol):
    """Shared token buckets (see module docstring)."""

    name: str

    async def take(self, specs: list[BucketSpec]) -> Decision:
        """Take every spec's cost or none; raises :class:`StoreUnavailable`."""
        ...

    async def charge(self, specs: list[BucketSpec]) -> None:
        """Apply each spec's cost unconditionally (settlement); raises :class:`StoreUnavailable`."""
        ...

    async def aclose(self) -> None: ...


def open_store(cfg: AdmissionConfig, engine: AsyncEngine) -> RateStore | None:
    """``database`` -> :class:`DbRateStore` on ``engine``; ``redis`` -> :class:`RedisRateStore` at
    ``cfg.redis_url``; ``off`` -> ``None``."""
    if cfg.store == "off":
        return None
    if cfg.store == "redis":
        from activities.admission.redis_store import RedisRateStore  # redis imported only when configured
        return RedisRateStore(cfg.redis_url)
    from activities.admission.db_store import DbRateStore
    return DbRateStore(engine)
