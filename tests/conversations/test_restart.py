"""A conversation survives its worker dying between turns and in the middle of a turn.

The worker is a real ``switchyard worker`` process pointed at the test's dev server and database
through the environment, killed with SIGKILL (no graceful shutdown: the workflow task and the
provider call in flight are lost). The test process runs no worker of its own, only the client.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from activities.storage.conversations import ConversationStore
from activities.storage.tables import outcomes
from core.conversation import ConversationConfig
from tests.configs import REPO, sim_config_dict
from tests.conversations.conftest import new_id
from tests.integration.test_request_path import PRIMARY, apply, reset
from worker.conversations import ConversationClient


class WorkerProcess:
    """``switchyard worker`` in a subprocess of its own session, on the test's task queue."""

    def __init__(self, tmp: Path, config: Path, env: dict[str, str], queue: str) -> None:
        self.tmp, self.config, self.env, self.queue = tmp, config, env, queue
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0

    async def start(self) -> None:
        self.started += 1
        ready, log_path = self.tmp / f"ready-{self.started}", self.tmp / f"worker-{self.started}.log"
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "worker.cli", "worker", "--config", str(self.config), "--task-queue",
                 self.queue, "--no-batch", "--ready-file", str(ready)],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(600):
            if ready.exists():
                return
            assert self.proc.poll() is None, log_path.read_text()[-3000:]
            await asyncio.sleep(0.1)
        raise AssertionError("worker did not start polling within 60 s")

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


async def _hangs(sim, target: str) -> int:
    async with httpx.AsyncClient() as c:
        stats = (await c.get(f"{sim.base_url}/_sim/stats")).json()
    return stats["targets"].get(target, {}).get("hangs", 0)


@pytest.mark.timeout(240)
async def test_conversation_survives_worker_kills_between_and_during_turns(
        temporal_env, db_url, engine, sim, tmp_path) -> None:
    cfg = tmp_path / "switchyard.yaml"
    cfg.write_text(yaml.safe_dump(sim_config_dict(sim.base_url)))
    env = {**os.environ, "SWITCHYARD_HOME": str(tmp_path / "home"), "DATABASE_URL": db_url,
           "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": temporal_env.client.namespace, "OTEL_TRACES_EXPORTER": "none"}
    queue = f"conv-kill-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(tmp_path, cfg, env, queue)
    store = ConversationStore(engine)
    conv = ConversationClient(temporal_env.client, queue, store=store, task_timeout=timedelta(seconds=3),
                              defaults=ConversationConfig(task_type="support_reply"))
    cid = new_id()
    try:
        await worker.start()
        t1 = await conv.send(cid, "Where is my refill order NW-48213?")
        worker.kill9()  # between turns
        await worker.start()
        t2 = await conv.send(cid, "It was due on Monday.")
        await apply(sim, PRIMARY, hang_share=1.0)
        pending = asyncio.create_task(conv.send(cid, "Can you expedite it?"))
        while await _hangs(sim, PRIMARY) < 1:  # the provider call is in flight on the worker
            assert not pending.done()
            await asyncio.sleep(0.05)
        worker.kill9()  # during the turn
        await reset(sim, PRIMARY)
        await worker.start()
        t3 = await asyncio.wait_for(pending, 120)
        t4 = await conv.send(cid, "Thank you.")
    finally:
        worker.stop()
    stored = await conv.transcript(cid)
    assert [t.turn for t in (t1, t2, t3, t4)] == [1, 2, 3, 4]
    assert {t.pinned_target for t in (t1, t2, t3, t4)} == {PRIMARY} and t3.pin_move is None
    assert [(e.turn, e.role) for e in stored] == [(t, r) for t in range(1, 5) for r in ("user", "assistant")]
    assert [e.message.content for e in stored if e.role == "assistant"] == [t.text() for t in (t1, t2, t3, t4)]
    # the turn cut by the kill was answered once: one outcome row per recorded call, no orphan rows
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(outcomes.c.seq, outcomes.c.try_no, outcomes.c.status_class)
                                   .where(outcomes.c.workflow_id == conv.workflow_id(cid))
                                   .order_by(outcomes.c.seq, outcomes.c.try_no))).all()
    recorded = sorted((a.seq, a.try_no) for t in (t1, t2, t3, t4) for a in t.trace.attempts)
    assert sorted((r.seq, r.try_no) for r in rows) == recorded
    assert [r.status_class for r in rows] == ["ok"] * 4
