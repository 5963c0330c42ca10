"""The attempt runs in another process than the reader: deltas cross through the shared channel.

A ``switchyard worker`` subprocess serves the task queue; this process only holds a Temporal
client and a :class:`worker.stream_reader.StreamReader` on the configured channel (the database,
the embedded default's lane, and Redis Streams), and ``SwitchyardClient.stream`` must yield text
before the answer is complete, with the joined text equal to the durable answer."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import redis.asyncio as aioredis
import yaml

from core.chat import ChatMessage, ChatRequest
from core.config import StreamsConfig
from core.request import RequestInput
from tests.configs import sim_config_dict
from tests.conversations.test_restart import WorkerProcess
from tests.streaming.conftest import MESSAGES
from worker.runtime import open_streams
from worker.submit import SwitchyardClient


class _Fixed:
    def __init__(self, cfg):  # type: ignore[no-untyped-def]
        self.cfg = cfg

    def current(self):  # type: ignore[no-untyped-def]
        return self.cfg, "fixed"


async def _redis_up() -> bool:
    r = aioredis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=0.5)
    try:
        return bool(await r.ping())
    except Exception:
        return False
    finally:
        await r.aclose()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("channel", ["database", "redis"])
async def test_attempt_in_another_process_still_streams(temporal_env, db_url, engine, stream_sim, tmp_path,
                                                        channel: str) -> None:
    if channel == "redis" and not await _redis_up():
        pytest.skip("no Redis server at 127.0.0.1:6379")
    data = sim_config_dict(stream_sim.base_url, streams={"channel": channel})
    cfg_path = tmp_path / "switchyard.yaml"
    cfg_path.write_text(yaml.safe_dump(data))
    env = {**os.environ, "SWITCHYARD_HOME": str(tmp_path / "home"), "DATABASE_URL": db_url,
           "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": temporal_env.client.namespace, "OTEL_TRACES_EXPORTER": "none"}
    queue = f"stream-remote-{uuid.uuid4().hex[:8]}"
    proc = WorkerProcess(tmp_path, cfg_path, env, queue)
    from worker.config_loader import ConfigHolder
    cfg = ConfigHolder(cfg_path).current()[0]
    assert cfg.streams == StreamsConfig(channel=channel)
    publisher, reader = open_streams(_Fixed(cfg), engine)
    try:
        await proc.start()
        sy = SwitchyardClient(temporal_env.client, queue, reader=reader)
        inp = RequestInput(request=ChatRequest(messages=[ChatMessage(**m) for m in MESSAGES]),
                           task_type="support_reply")
        t0 = time.perf_counter()
        seen: list[tuple[float, str]] = []
        final = None
        async for upd in sy.stream(inp, eager=False):
            if upd.text:
                seen.append((time.perf_counter() - t0, upd.text))
            final = upd.result or final
        total = time.perf_counter() - t0
    finally:
        proc.stop()
        if reader.feed is not None:
            await reader.feed.aclose()
        if publisher.shared is not None:
            await publisher.shared.aclose()
    assert final is not None and final.response is not None
    assert "".join(t for _, t in seen) == final.response.text()
    live = [t for at, t in seen[:-1]]  # everything but the last update came over the channel
    assert len(live) >= 3, seen
    assert seen[0][0] < total - 0.4, (seen[0][0], total)  # first text well before the answer was complete
