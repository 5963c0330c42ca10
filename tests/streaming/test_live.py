"""Live streaming through the gateway with the official ``openai`` SDK: tokens arrive before the
answer is complete, failures before the first token are invisible, a stream cut after it is
continued by the next target in the same stream."""

from __future__ import annotations

import time

from openai import AsyncOpenAI

from tests.streaming.conftest import MESSAGES, PRIMARY, fault


async def _collect(url: str, **kw):  # type: ignore[no-untyped-def]
    client = AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    t0 = time.perf_counter()
    first_at = None
    pieces, ids, chunks = [], set(), []
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True, **kw)
    async for c in stream:
        chunks.append(c)
        ids.add(c.id)
        if c.choices and c.choices[0].delta.content:
            first_at = first_at or time.perf_counter() - t0
            pieces.append(c.choices[0].delta.content)
    await client.close()
    return "".join(pieces), first_at, time.perf_counter() - t0, ids, chunks


async def test_first_chunk_arrives_before_the_answer_is_complete(sgw, sgw_url) -> None:
    text, first_at, total, ids, chunks = await _collect(sgw_url)
    assert text and len(ids) == 1
    assert first_at is not None and first_at < total / 2, (first_at, total)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3


async def test_cut_after_first_token_is_rescued_in_the_same_stream(sgw, sgw_url) -> None:
    healthy, *_ = await _collect(sgw_url)
    await fault(sgw.sim, PRIMARY, stream_cut_share=1.0, stream_cut_after_chunks=5)
    text, first_at, total, ids, chunks = await _collect(sgw_url, stream_options={"include_usage": True})
    assert len(ids) == 1
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert text == healthy  # the backup continued exactly where the primary's stream was cut
