"""``activities/storage/cache_memory.py``: the in-process tier's bounds (entries, life) and copies."""

from __future__ import annotations

from activities.storage.cache_memory import MemoryTier
from activities.storage.cache_store import CacheEntry


def entry(key: str, hits: int = 0) -> CacheEntry:
    return CacheEntry(key=key, tenant="t", route="r", source_target="openai/gpt-4o@us-east", body="{}",
                      created_at=0, expires_at=100, stale_until=100, hits=hits, last_hit_at=0)


def test_entries_live_ttl_s_from_their_store_and_hits_do_not_extend_it() -> None:
    now = [0.0]
    tier = MemoryTier(10, 5.0, clock=lambda: now[0])
    tier.put(entry("a"))
    now[0] = 4.0
    got = tier.get("a")
    assert got is not None and got.hits == 0
    got.hits = 7  # a caller's change is not seen by the next reader until update()
    assert tier.get("a").hits == 0
    tier.update(got)
    assert tier.get("a").hits == 7
    now[0] = 5.0
    assert tier.get("a") is None  # read and updated at 4 s, stored at 0 s: gone at 5 s


def test_least_recently_used_entries_go_first_and_zero_keeps_nothing() -> None:
    tier = MemoryTier(2, 60.0)
    tier.put(entry("a"))
    tier.put(entry("b"))
    assert tier.get("a") is not None  # a is now the most recently used
    tier.put(entry("c"))
    assert tier.get("b") is None and tier.get("a") is not None and tier.get("c") is not None
    off = MemoryTier(0, 60.0)
    off.put(entry("a"))
    assert off.get("a") is None
