"""A conversation turn streamed to a reader in another process's hub (through the database
channel), with the chat CLI printing the reply as it arrives."""

from __future__ import annotations

import time

from rich.console import Console

from tests.configs import sim_config
from tests.conversations.conftest import conversation_worker, new_id
from tests.streaming.conftest import MESSAGES
from worker.chat_cli import chat_session
from worker.config_loader import ConfigHolder
from worker.conversations import stream_turn
from worker.runtime import open_streams


async def test_turn_text_arrives_before_the_reply_is_complete(temporal_env, db_url, engine, stream_sim) -> None:
    cfg = sim_config(stream_sim.base_url)
    publisher, reader = open_streams(ConfigHolder.fixed(cfg), engine)  # a hub of its own: the channel carries it
    pieces: list[tuple[float, str]] = []
    try:
        async with conversation_worker(temporal_env.client, cfg, db_url) as w:
            cid = new_id()
            t0 = time.perf_counter()
            turn = await stream_turn(w.conv, reader, cid, MESSAGES[1]["content"],
                                     lambda text: pieces.append((time.perf_counter() - t0, text)))
            total = time.perf_counter() - t0
            console = Console(record=True, width=200)
            lines = iter(["It was due on Monday.", "/quit"])

            async def ask() -> str:
                return next(lines)
            assert await chat_session(w.conv, console, ask, cid, reader=reader) == 0
    finally:
        await reader.feed.aclose()
        await publisher.shared.aclose()
    assert "".join(t for _, t in pieces) == turn.text()
    assert len(pieces) >= 3 and pieces[0][0] < total - 0.4, (pieces[:2], total)
    out = console.export_text()
    assert "(turn 2" in out and "Here is" in out


async def test_gateway_conversation_turn_streams_live(sgw, sgw_url) -> None:
    import httpx

    from tests.streaming.test_connections import content
    headers = {"x-switchyard-conversation-id": f"live-{time.time_ns()}"}
    replies = []
    async with httpx.AsyncClient(timeout=30) as c:
        for text in (MESSAGES[1]["content"], "It was due on Monday."):
            t0 = time.perf_counter()
            first_at = None
            raw = []
            async with c.stream("POST", sgw_url + "/v1/chat/completions", headers=headers, json={
                    "model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": text}]}) as r:
                assert r.status_code == 200 and r.headers["x-switchyard-conversation-id"] == headers[
                    "x-switchyard-conversation-id"]
                async for chunk in r.aiter_text():
                    if first_at is None and '"content":"' in chunk and '"content":""' not in chunk:
                        first_at = time.perf_counter() - t0
                    raw.append(chunk)
            total = time.perf_counter() - t0
            body = "".join(raw)
            assert body.rstrip().endswith("data: [DONE]") and content(body)
            assert first_at is not None and first_at < total - 0.4, (first_at, total)
            replies.append(content(body))
    assert replies[0] != replies[1]
