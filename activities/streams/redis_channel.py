"""Redis Streams as the shared channel of live streams: several gateway replicas and workers.

Per stream key one Redis stream ``switchyard:stream:<key>``: ``publish`` is ``XADD ... MAXLEN ~
10000 * l <line>`` for each line plus ``EXPIRE retain_s``, in one pipeline (one round trip per
batch); ``read`` is one ``XREAD BLOCK block_ms STREAMS k1 k2 ... id1 id2 ...`` for every watched
key (``""`` cursor = ``0-0``, the start, so a resuming reader gets the stream from the beginning).
Entries expire with the key, so a crashed reader leaves nothing behind. Connection errors raise;
the publisher and the feed treat the fast lane as best effort. Source for the commands: Redis
documentation of XADD (MAXLEN ~), XREAD (BLOCK, multiple keys) and EXPIRE.
"""

from __future__ import annotations

from typing import Any

PREFIX = "switchyard:stream:"
MAXLEN = 10_000


class RedisChannel:
    """:class:`activities.streams.channel.SharedChannel` on Redis Streams (``redis.asyncio``)."""

    name = "redis"

    def __init__(self, url: str, *, retain_s: float = 300.0, client: Any | None = None) -> None:
        if client is None:
            import redis.asyncio as redis  # optional dependency, imported only when configured
            client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=None)
        self._redis = client
        self._retain = max(1, int(retain_s))

    async def publish(self, key: str, lines: list[str]) -> None:
        """Append ``lines`` to stream ``key`` (one pipeline) and refresh its expiry."""
        if not lines:
            return
        name = PREFIX + key
        pipe = self._redis.pipeline(transaction=False)
        for line in lines:
            pipe.xadd(name, {"l": line}, maxlen=MAXLEN, approximate=True)
        pipe.expire(name, self._retain)
        await pipe.execute()

    async def read(self, cursors: dict[str, str], block_ms: int) -> dict[str, list[tuple[str, str]]]:
        """New lines per key since its cursor, waiting up to ``block_ms`` ms (``XREAD BLOCK``)."""
        if not cursors:
            return {}
        streams = {PREFIX + k: (c or "0-0") for k, c in cursors.items()}
        got = await self._redis.xread(streams, block=max(1, block_ms))
        out: dict[str, list[tuple[str, str]]] = {}
        for name, entries in got or []:
            key = (name.decode() if isinstance(name, bytes) else name)[len(PREFIX):]
            out[key] = [(_text(eid), _text(fields.get(b"l", fields.get("l", b"")))) for eid, fields in entries]
        return out

    async def expire(self, older_than_s: float) -> int:
        """Nothing to do: every stream key expires by itself (``EXPIRE``)."""
        return 0

    async def aclose(self) -> None:
        await self._redis.aclose()


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
