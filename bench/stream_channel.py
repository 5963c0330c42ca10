"""The shared channel of live streams, measured: database (SQLite, PostgreSQL), Redis Streams and
Temporal's Workflow Streams, side by side in one run.

One writer publishes ``--deltas`` pieces of one stream, one every ``--gap-ms`` ms (a token rate of
1000/gap per second), each stamped with its send time; one reader follows the stream through the
channel and records arrival - send (same process, same clock, separate connections). Printed: p50
and p99 delivery latency (ms) per channel, the ratio to Redis, and what each costs per stream.

- **database**: ``activities.streams.sql_channel.SqlChannel`` with the publisher's 20 ms batching
  (``activities/streams/publisher.py``) and the reader's ``poll_ms`` (50 ms default);
- **redis**: ``RedisChannel`` (XADD per batch, XREAD BLOCK), same batching;
- **workflow streams**: ``temporalio.contrib.workflow_streams`` (experimental): a workflow hosting a
  ``WorkflowStream``, a ``WorkflowStreamClient`` publishing with ``batch_interval`` 20 ms (signals)
  and one subscribing (long-poll updates), on the embedded dev server; every batch is a signal in
  the workflow's history.

    python -m bench.stream_channel [--deltas 200] [--gap-ms 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamClient
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.storage.engine import make_engine
from activities.streams.hub import StreamHub
from activities.streams.publisher import StreamPublisher
from activities.streams.redis_channel import RedisChannel
from activities.streams.remote import RemoteFeed
from activities.streams.sql_channel import SqlChannel
from core.stats import percentile
from migrations.runner import upgrade
from worker.devserver import temporal_binary

PG_URL = os.environ.get("SWITCHYARD_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")


@dataclass
class Figures:
    channel: str
    latencies_ms: list[float]
    note: str

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")


async def _through_feed(channel, deltas: int, gap_s: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Publisher (its own hub, no local reader) -> channel -> RemoteFeed -> reader's hub state."""
    key = f"bench-{time.time_ns()}"
    reader_hub, feed = StreamHub(), RemoteFeed(channel, poll_ms=50)
    state = reader_hub.open(key)
    feed.watch(state)
    sink = StreamPublisher(StreamHub(), channel).sink(key, 1, "bench", "bench")
    sent: list[float] = []
    got: list[float] = []

    async def follow() -> None:
        seen = 0
        async for upd in state.follow():
            now = time.perf_counter()
            n = len(upd.text) // 8
            got.extend(now - sent[seen + i] for i in range(n))
            seen += n
            if seen >= deltas:
                return

    reader = asyncio.create_task(follow())
    for _ in range(deltas):
        sent.append(time.perf_counter())
        sink.text("x" * 8)
        await asyncio.sleep(gap_s)
    await sink.aclose()
    await asyncio.wait_for(reader, 30)
    await feed.aclose()
    return [g * 1000 for g in got]


@workflow.defn(name="bench.stream_host", sandboxed=False)
class StreamHost:
    """Hosts a WorkflowStream until told to stop."""

    @workflow.init
    def __init__(self) -> None:
        self.stream = WorkflowStream()
        self.done = False

    @workflow.signal
    def stop(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return 0


async def _workflow_streams(deltas: int, gap_s: float) -> tuple[list[float], int]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(temporal_binary()))
    try:
        async with Worker(env.client, task_queue="bench-ws", workflows=[StreamHost]):
            handle = await env.client.start_workflow(StreamHost.run, id=f"ws-{time.time_ns()}", task_queue="bench-ws")
            pub = WorkflowStreamClient.create(env.client, handle.id, batch_interval=timedelta(milliseconds=20))
            sub = WorkflowStreamClient.create(env.client, handle.id)
            got: list[float] = []

            async def follow() -> None:
                async for item in sub.subscribe("deltas", result_type=str,
                                                poll_cooldown=timedelta(milliseconds=0)):
                    got.append(time.perf_counter() - float(item.data))
                    if len(got) >= deltas:
                        return

            reader = asyncio.create_task(follow())
            async with pub:
                topic = pub.topic("deltas", type=str)
                for _ in range(deltas):
                    topic.publish(repr(time.perf_counter()))
                    await asyncio.sleep(gap_s)
            await asyncio.wait_for(reader, 60)
            await handle.signal(StreamHost.stop)
            events = len([e async for e in handle.fetch_history_events()])
            return [g * 1000 for g in got], events
    finally:
        await env.shutdown()


async def _guard(name: str, run: Callable[[], Awaitable[list[float]]], note: str) -> Figures:
    try:
        return Figures(name, await run(), note)
    except Exception as e:  # a channel not reachable here is reported, not fatal
        return Figures(name, [], f"not measured: {type(e).__name__}: {e}"[:120])


async def main(deltas: int, gap_ms: float) -> list[Figures]:
    gap = gap_ms / 1000
    tmp = Path(tempfile.mkdtemp())
    sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
    await asyncio.to_thread(upgrade, sqlite_url)
    sqlite = make_engine(sqlite_url)
    out = [await _guard("database (SQLite)", lambda: _through_feed(SqlChannel(sqlite), deltas, gap),
                        "poll 50 ms, flush 20 ms")]
    await sqlite.dispose()
    try:
        await asyncio.to_thread(upgrade, PG_URL)
        pg = make_engine(PG_URL)
        out.append(await _guard("database (PostgreSQL)", lambda: _through_feed(SqlChannel(pg), deltas, gap),
                                "poll 50 ms, flush 20 ms"))
        await pg.dispose()
    except Exception as e:
        out.append(Figures("database (PostgreSQL)", [], f"not measured: {type(e).__name__}"))
    redis = RedisChannel("redis://127.0.0.1:6379/0")
    out.append(await _guard("redis streams", lambda: _through_feed(redis, deltas, gap), "XREAD BLOCK, flush 20 ms"))
    await redis.aclose()
    events: list[int] = []

    async def ws() -> list[float]:
        lat, n = await _workflow_streams(deltas, gap)
        events.append(n)
        return lat
    out.append(await _guard("workflow streams", ws, "signals + long-poll updates, batch 20 ms"))
    if events:
        out[-1].note += f"; {events[0]} history events for {deltas} deltas"
    return out


def report(figs: list[Figures]) -> dict:
    redis = next((f for f in figs if f.channel == "redis streams" and f.latencies_ms), None)
    print(f"{'channel':24} {'p50 ms':>8} {'p99 ms':>8} {'p50 / redis':>12}  note")
    rows = []
    for f in figs:
        ratio = f.p(50) / redis.p(50) if redis and f.latencies_ms else float("nan")
        print(f"{f.channel:24} {f.p(50):8.1f} {f.p(99):8.1f} {ratio:12.2f}  {f.note}")
        rows.append({"channel": f.channel, "p50_ms": f.p(50), "p99_ms": f.p(99), "n": len(f.latencies_ms),
                     "p50_ratio_to_redis": ratio, "note": f.note})
    return {"rows": rows}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deltas", type=int, default=200)
    ap.add_argument("--gap-ms", type=float, default=10.0)
    a = ap.parse_args()
    res = report(asyncio.run(main(a.deltas, a.gap_ms)))
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/stream_channel.json").write_text(json.dumps(res, indent=2))
