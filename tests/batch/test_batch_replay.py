"""Determinism guard for ``BatchWorkflow``: its histories replay with the current code.

``tests/batch/histories/*.json`` are real histories of a small batch (one failed item, continue-as-
new after 3 items: the first and the last run), recorded with
``python -m tests.batch.test_batch_replay record``. A batch run in this session is replayed too,
every run of it, so concurrent children, the recorder and continue-as-new are all covered.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from core.batch import batch_workflow_id
from simulator.server import run_simulator
from tests.batch.helpers import DOOMED, batch_worker, config, scenario_file, sim_apply, write_batch
from worker.runtime import sandbox_runner
from workflows.batch import BatchWorkflow

HISTORIES = Path(__file__).resolve().parent / "histories"


def replayer() -> Replayer:
    return Replayer(workflows=[BatchWorkflow], data_converter=pydantic_data_converter,
                    workflow_runner=sandbox_runner())


async def _run_batch(client: Client, db_url: str, tmp: Path, job: str) -> list[str]:
    """Run a 7-item batch (item 3 fails everywhere, 3 items per run); every run's history JSON."""
    async with run_simulator(str(scenario_file(tmp)), port=0) as sim:
        for t in DOOMED:
            await sim_apply(sim.base_url, t, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
        async with batch_worker(client, config(sim.base_url), db_url) as rig:
            info, _ = await rig.client.load(write_batch(tmp / "b.jsonl", 7, {3}), job=job)
            await rig.client.start(info.batch_id, concurrency=2, items_per_run=3)
            summary = await rig.client.wait(info.batch_id)
            assert (summary.done, summary.failed, summary.runs) == (6, 1, 3)
    wid = batch_workflow_id(info.batch_id)
    runs = [wf.run_id async for wf in client.list_workflows(f"WorkflowId = '{wid}'")]
    for _ in range(50):
        if len(runs) == 3:
            break
        await asyncio.sleep(0.2)
        runs = [wf.run_id async for wf in client.list_workflows(f"WorkflowId = '{wid}'")]
    return [(await client.get_workflow_handle(wid, run_id=r).fetch_history()).to_json() for r in runs]


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_committed_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_fresh_histories_of_every_run_replay(temporal_env, db_url, tmp_path) -> None:
    histories = await _run_batch(temporal_env.client, db_url, tmp_path, "replay-fresh")
    assert len(histories) == 3
    for i, text in enumerate(histories):
        result = await replayer().replay_workflow(WorkflowHistory.from_json(f"run-{i}", text),
                                                  raise_on_replay_failure=True)
        assert result.replay_failure is None


async def _record() -> None:
    from temporalio.testing import WorkflowEnvironment

    from core import search_attributes
    from migrations.runner import upgrade
    from worker.devserver import temporal_binary

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        db = f"sqlite:///{tmp / 'r.db'}"
        await asyncio.to_thread(upgrade, db)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
            data_converter=pydantic_data_converter)
        async with env:
            histories = await _run_batch(env.client, db, tmp, "replay-recorded")
    HISTORIES.mkdir(exist_ok=True)
    # list_workflows returns the newest run first: the last run, then the first.
    (HISTORIES / "batch-last-run.json").write_text(histories[0])
    (HISTORIES / "batch-first-run.json").write_text(histories[-1])


if __name__ == "__main__" and sys.argv[1:] == ["record"]:
    asyncio.run(_record())
