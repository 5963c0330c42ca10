"""Around the stream: client disconnect, resume with the same Idempotency-Key, a key reused with a
different body, keep-alives while a slow first token is awaited. Raw SSE over httpx on loopback,
so the test controls exactly when the client goes away."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.integration.test_request_path import rows
from tests.streaming.conftest import MESSAGES, PRIMARY, fault


def body(**kw) -> dict:  # type: ignore[no-untyped-def]
    return {"model": "gpt-4o", "messages": MESSAGES, "stream": True, **kw}


def content(sse: str) -> str:
    out = []
    for block in sse.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: {"):
                d = json.loads(line[6:])
                if d.get("choices"):
                    out.append(d["choices"][0]["delta"].get("content") or "")
    return "".join(out)


async def read_some(url: str, headers: dict, pieces: int) -> tuple[str, str | None]:
    """Read ``pieces`` content chunks, then drop the connection; returns text and last event id."""
    text, last_id = [], None
    async with httpx.AsyncClient(timeout=30) as c, c.stream("POST", url + "/v1/chat/completions", json=body(),
                                                           headers=headers) as r:
        async for line in r.aiter_lines():
            if line.startswith("id: "):
                last_id = line[4:]
            if line.startswith("data: {"):
                d = json.loads(line[6:])
                if d.get("choices") and d["choices"][0]["delta"].get("content"):
                    text.append(d["choices"][0]["delta"]["content"])
                    if len(text) >= pieces:
                        break
    return "".join(text), last_id


async def sim_stats(sim) -> dict:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient() as c:
        return (await c.get(sim.base_url + "/_sim/stats")).json()


async def test_disconnect_cancels_the_workflow_and_the_upstream_call(sgw, sgw_url) -> None:
    await fault(sgw.sim, PRIMARY, latency_ms={"median": 6000, "p99": 6000})
    await read_some(sgw_url, {}, 2)
    handle = sgw.gw.sy.client.get_workflow_handle(sgw.started[-1] and (await _last_id(sgw)))
    for _ in range(100):
        desc = await handle.describe()
        if desc.status is not None and desc.status.name in ("CANCELED", "FAILED"):
            break
        await asyncio.sleep(0.1)
    assert desc.status.name in ("CANCELED", "FAILED") and desc.close_time is not None
    classes = [r.status_class for r in await rows(sgw.gw.services.engine, handle.id)]
    assert classes == ["CallerCancelled"]  # recorded, not against the target's health, no failover
    for _ in range(50):
        if (await sim_stats(sgw.sim))["targets"][PRIMARY]["disconnects"] >= 1:
            break
        await asyncio.sleep(0.1)
    assert (await sim_stats(sgw.sim))["targets"][PRIMARY]["disconnects"] >= 1


async def _last_id(sgw) -> str:  # type: ignore[no-untyped-def]
    ids = [wf async for wf in sgw.gw.sy.client.list_workflows("WorkflowType = 'AIRequestWorkflow'", limit=1)]
    return ids[0].id


async def test_keyed_stream_goes_on_and_resumes_where_the_client_left(sgw, sgw_url) -> None:
    await fault(sgw.sim, PRIMARY, latency_ms={"median": 2500, "p99": 2500})
    key = {"Idempotency-Key": "resume-me-1"}
    first, last_id = await read_some(sgw_url, key, 3)
    assert first and last_id
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(sgw_url + "/v1/chat/completions", json=body(), headers={**key, "Last-Event-ID": last_id})
    rest = content(r.text)
    assert r.text.rstrip().endswith("data: [DONE]")
    async with httpx.AsyncClient(timeout=30) as c:  # the whole answer, from the start, for comparison
        whole = content((await c.post(sgw_url + "/v1/chat/completions", json=body(),
                                      headers={**key, "Last-Event-ID": "0.0"})).text)
    assert first + rest == whole and rest
    assert len([i for i in sgw.started if i.idempotency_key]) == 3  # attached, never re-run
    assert (await sim_stats(sgw.sim))["targets"][PRIMARY]["calls"] == 1


async def test_key_reused_with_a_different_body_is_a_422(sgw, sgw_url) -> None:
    key = {"Idempotency-Key": "same-key-2"}
    async with httpx.AsyncClient(timeout=30) as c:
        ok = await c.post(sgw_url + "/v1/chat/completions", json=body(), headers=key)
        other = {**body(), "messages": [{"role": "user", "content": "Something else entirely"}]}
        bad = await c.post(sgw_url + "/v1/chat/completions", json=other, headers=key)
        bad_plain = await c.post(sgw_url + "/v1/chat/completions", json={**other, "stream": False}, headers=key)
    assert ok.status_code == 200 and content(ok.text)
    for r in (bad, bad_plain):
        assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused"


async def test_keep_alive_comments_while_a_slow_first_token_is_awaited(sgw, sgw_url) -> None:
    await fault(sgw.sim, PRIMARY, ttft_ms={"median": 5000, "p99": 5000}, latency_ms={"median": 5500, "p99": 5500})
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(sgw_url + "/v1/chat/completions", json=body())
    head = r.text.split("data: {", 1)[0]
    assert ": keep-alive" in head and content(r.text)
