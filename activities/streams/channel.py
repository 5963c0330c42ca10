"""The shared channel's contract: how a stream's events cross processes.

Implemented by ``sql_channel.SqlChannel`` (the Switchyard database; the embedded default) and
``redis_channel.RedisChannel`` (Redis Streams, for several gateway replicas). Events are the JSON
lines of ``events.encode``, appended per stream key (the request's workflow id) in order; a reader
resumes from an opaque cursor (``""`` = from the start). A channel failure never fails a request:
the publisher drops the piece and the reader finishes from the durable answer.
"""

from __future__ import annotations

from typing import Protocol


class SharedChannel(Protocol):
    """Append-only event log per stream key, readable from any process (see module docstring)."""

    name: str

    async def publish(self, key: str, lines: list[str]) -> None:
        """Append ``lines`` (in order) to stream ``key``."""
        ...

    async def read(self, cursors: dict[str, str], block_ms: int) -> dict[str, list[tuple[str, str]]]:
        """New lines of each stream in ``cursors`` (key -> cursor of the last line read), as
        ``key -> [(cursor, line), ...]``; waits up to ``block_ms`` ms when there is nothing new."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
