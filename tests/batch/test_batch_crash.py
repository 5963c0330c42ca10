"""A 200-item batch survives its worker being killed with SIGKILL twice mid-run.

The worker is a real ``switchyard worker`` process (``python -m worker.cli worker``) pointed at the
test's dev server and database through the environment; it is killed with SIGKILL (no graceful
shutdown, activities and workflow tasks lost mid-flight) once after about a fifth and once after
about half of the items, and a fresh one is started each time. Continue-as-new is on (60 items
per run), so the kills also land around run boundaries.

Every item must end done exactly once: one result row per item, every item ``done``, and for
every item's child workflow the outcome rows are exactly the calls of its routing trace (no
duplicate and no missing row for any (seq, try)).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from activities.storage.batches import BatchStore
from core.batch import item_workflow_id
from tests.batch.helpers import PRIMARY, config_dict, outcome_rows, result_rows, sim_calls, write_batch
from tests.configs import REPO
from worker.batch_client import BatchClient

ITEMS = 200


class WorkerProcess:
    """``switchyard worker`` in a subprocess of its own session, on the test's queues."""

    def __init__(self, tmp: Path, config: Path, env: dict[str, str], queues: tuple[str, str]) -> None:
        self.tmp, self.config, self.env, self.queues = tmp, config, env, queues
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0

    async def start(self) -> None:
        self.started += 1
        ready = self.tmp / f"ready-{self.started}"
        log = (self.tmp / f"worker-{self.started}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "worker", "--config", str(self.config), "--task-queue",
             self.queues[0], "--batch-task-queue", self.queues[1], "--ready-file", str(ready)],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        for _ in range(600):
            if ready.exists():
                return
            assert self.proc.poll() is None, (self.tmp / f"worker-{self.started}.log").read_text()[-3000:]
            await asyncio.sleep(0.1)
        raise AssertionError("worker did not start polling within 60 s")

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


async def _wait_finished(store: BatchStore, batch_id: str, at_least: int) -> int:
    while True:
        c = await store.counts(batch_id)
        if c.done + c.failed >= at_least:
            return c.done + c.failed
        await asyncio.sleep(0.05)


@pytest.mark.timeout(400)
async def test_batch_survives_two_sigkills_with_every_item_done_once(
        temporal_env, db_url, engine, sim, tmp_path) -> None:
    cfg = tmp_path / "switchyard.yaml"
    cfg.write_text(yaml.safe_dump(config_dict(sim.base_url, target_timeout_s=2.0)))
    env = {**os.environ, "SWITCHYARD_HOME": str(tmp_path / "home"), "DATABASE_URL": db_url,
           "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": temporal_env.client.namespace, "OTEL_TRACES_EXPORTER": "none"}
    tag = uuid.uuid4().hex[:8]
    worker = WorkerProcess(tmp_path, cfg, env, (f"crash-req-{tag}", f"crash-batch-{tag}"))
    store = BatchStore(engine)
    bc = BatchClient(temporal_env.client, store, f"crash-batch-{tag}")
    info, _ = await bc.load(write_batch(tmp_path / "docs.jsonl", ITEMS), job=f"crash-{tag}")
    try:
        await worker.start()
        await bc.start(info.batch_id, concurrency=10, items_per_run=60, child_task_timeout_s=5)
        kills = []
        for at in (40, 100):
            kills.append(await _wait_finished(store, info.batch_id, at))
            worker.kill9()
            await worker.start()
        summary = await asyncio.wait_for(bc.wait(info.batch_id), timeout=300)
    finally:
        worker.stop()

    assert all(k < ITEMS for k in kills), f"kills must land mid-run, finished at kills: {kills}"
    assert (summary.total, summary.done, summary.failed) == (ITEMS, ITEMS, 0)
    assert summary.runs >= 4  # continue-as-new every 60 items
    rows = await result_rows(engine, info.batch_id)
    assert [(r.n, r.round, r.status) for r in rows] == [(n, 0, "done") for n in range(1, ITEMS + 1)]
    assert summary.cost_usd == pytest.approx(sum(r.cost_usd for r in rows))

    outs = await outcome_rows(engine, f"batch-{info.batch_id}/")
    keys: dict[str, list[tuple[int, int]]] = {}
    for o in outs:
        keys.setdefault(o.workflow_id, []).append((o.seq, o.try_no))
    for r in rows:
        assert r.workflow_id == item_workflow_id(info.batch_id, r.n)
        trace = sorted((a["seq"], a["try_no"]) for a in json.loads(r.attempts))
        assert keys.get(r.workflow_id) == trace, f"item {r.n}: outcome rows {keys.get(r.workflow_id)} vs trace {trace}"
        assert r.target == PRIMARY and r.text
    calls = (await sim_calls(sim.base_url))[PRIMARY]
    assert calls >= len(outs) >= ITEMS  # a call cut off by a kill reaches the simulator but records no row
