"""The configured shared channel (``streams:`` in the config, ``core.config.StreamsConfig``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.streams.channel import SharedChannel
from core.config import StreamsConfig


def open_channel(cfg: StreamsConfig, engine: AsyncEngine) -> SharedChannel | None:
    """``database`` -> :class:`SqlChannel` on ``engine``; ``redis`` -> :class:`RedisChannel` at
    ``cfg.redis_url`` (package ``redis``); ``off`` -> ``None``."""
    if cfg.channel == "database":
        from activities.streams.sql_channel import SqlChannel
        return SqlChannel(engine, poll_ms=cfg.poll_ms)
    if cfg.channel == "redis":
        from activities.streams.redis_channel import RedisChannel
        return RedisChannel(cfg.redis_url, retain_s=cfg.retain_s)
    return None
