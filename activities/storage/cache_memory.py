"""The response cache's in-process tier: the most recently used entries of this process, kept a
few seconds.

In front of Redis and the database (``cache_store.py``): a hit read from here costs no I/O. Bounded
twice: at most ``max_entries`` entries (least recently used dropped first) and each kept at most
``ttl_s`` seconds from when it was read or stored, so an entry another replica replaced
(``Cache-Control: no-cache`` refreshes it) or evicted is served here for at most ``ttl_s`` more.
Copies go in and out, so a caller's changes (hit counts) never alias another request's entry.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from activities.storage.cache_store import CacheEntry


class MemoryTier:
    """LRU of :class:`CacheEntry` by key with a per-entry life of ``ttl_s`` (s, monotonic ``clock``)."""

    def __init__(self, max_entries: int, ttl_s: float, *, clock=time.monotonic) -> None:
        self._max, self._ttl, self._clock = max_entries, ttl_s, clock
        self._items: OrderedDict[str, tuple[float, CacheEntry]] = OrderedDict()

    def get(self, key: str) -> CacheEntry | None:
        """A copy of the entry of ``key`` kept less than ``ttl_s`` ago, or ``None``."""
        item = self._items.get(key)
        if item is None:
            return None
        if self._clock() - item[0] >= self._ttl:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1].model_copy()

    def update(self, entry: CacheEntry) -> None:
        """Replace the kept copy of ``entry`` (its hit count, TTL tier) without extending its life."""
        item = self._items.get(entry.key)
        if item is not None:
            self._items[entry.key] = (item[0], entry.model_copy())

    def clear(self) -> None:
        """Drop every kept copy."""
        self._items.clear()

    def put(self, entry: CacheEntry) -> None:
        """Keep a copy of ``entry`` for ``ttl_s`` from now (no-op when ``max_entries`` is 0)."""
        if self._max <= 0:
            return
        self._items[entry.key] = (self._clock(), entry.model_copy())
        self._items.move_to_end(entry.key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)
