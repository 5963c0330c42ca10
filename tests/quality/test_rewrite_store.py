"""``RewriteStore`` on the real database: one claimant per key, take-over of abandoned and failed
rewrites only after their wait, review by id prefix."""

from __future__ import annotations

import asyncio

from activities.storage.prompt_rewrites import RewriteStore
from core.prompt_transform import RETRY_FAILED_S, STALE_PENDING_S, rewrite_id


async def test_one_claimant_per_key(engine) -> None:
    store = RewriteStore(engine)
    won = await asyncio.gather(*(store.claim("r", "p/m", "h1", "src", "small", 1000.0) for _ in range(8)))
    assert sorted(won) == [False] * 7 + [True]
    assert (await store.get("r", "p/m", "h1")).status == "pending"


async def test_abandoned_and_failed_rewrites_are_taken_over_after_their_wait(engine) -> None:
    store = RewriteStore(engine)
    assert await store.claim("r", "p/m", "h2", "src", "small", 1000.0)
    assert not await store.claim("r", "p/m", "h2", "src", "small", 1000.0 + STALE_PENDING_S - 1)
    assert await store.claim("r", "p/m", "h2", "src", "small", 1000.0 + STALE_PENDING_S + 1)
    rid = rewrite_id("r", "p/m", "h2")
    await store.finish(rid, status="failed", text=None, cost_usd=0.0, latency_ms=5.0, prompt_tokens=0,
                       completion_tokens=0, error="ServerError: boom", now=2000.0)
    assert not await store.claim("r", "p/m", "h2", "src", "small", 2000.0 + RETRY_FAILED_S - 1)
    assert await store.claim("r", "p/m", "h2", "src", "small", 2000.0 + RETRY_FAILED_S + 1)


async def test_review_by_prefix_and_rejected_is_final(engine) -> None:
    store = RewriteStore(engine)
    assert await store.claim("r", "p/m", "h3", "src {x}", "small", 1000.0)
    rid = rewrite_id("r", "p/m", "h3")
    await store.finish(rid, status="draft", text="new {x}", cost_usd=0.0001, latency_ms=12.0, prompt_tokens=20,
                       completion_tokens=8, error="", now=1001.0)
    pinned = await store.review(rid[:6], "pinned", 1002.0)
    assert pinned.status == "pinned" and pinned.reviewed_at == 1002.0 and pinned.text == "new {x}"
    assert (await store.review(rid, "pinned", 1003.0, text="edited {x}")).text == "edited {x}"
    await store.review(rid, "rejected", 1004.0)
    assert not await store.claim("r", "p/m", "h3", "src {x}", "small", 1e12)
    assert await store.review("zzzz", "pinned", 1.0) is None and await store.by_id("ab") is None
    assert [r.id for r in await store.list(route="r", status="rejected")] == [rid]
