"""Determinism guard: recorded request histories replay with the current workflow code.

``tests/histories/*.json`` are real histories (a plain answer, a failover after 503s, a caller
error), recorded with ``python -m tests.integration.test_replay record``; replaying them with
``Replayer`` fails if a code change made ``AIRequestWorkflow`` non-deterministic. A fresh history
recorded in this run is replayed too.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import yaml
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from simulator.server import run_simulator
from tests.configs import sim_config
from tests.harness import request_worker
from tests.integration.test_request_path import FAST_SCENARIO, PRIMARY, apply, ask
from worker.runtime import WORKFLOWS, sandbox_runner
from worker.submit import RequestFailed

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=sandbox_runner())


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_committed_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def _record(client, db_url: str, tmp: Path) -> dict[str, str]:
    """Run three representative requests; return name -> history JSON."""
    scen = tmp / "fast.yaml"
    scen.write_text(yaml.safe_dump(FAST_SCENARIO))
    out: dict[str, str] = {}
    async with run_simulator(str(scen), port=0) as sim:
        async with request_worker(client, sim_config(sim.base_url), db_url) as sy:
            ok = await sy.submit(ask())
            await apply(sim, PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
            failover = await sy.submit(ask("second"))
            body = {"error": {"message": "Invalid 'max_tokens'", "type": "invalid_request_error", "code": None,
                              "param": "max_tokens"}}
            await apply(sim, "*", error_rate=1.0, errors=[{"status": 400, "share": 1.0, "body": body}])
            with pytest.raises(RequestFailed) as e:
                await sy.submit(ask("third"))
    for name, wf_id in (("answer", ok.workflow_id), ("failover", failover.workflow_id),
                        ("caller-error", e.value.workflow_id)):
        out[name] = (await client.get_workflow_handle(wf_id).fetch_history()).to_json()
    return out


async def test_fresh_histories_replay(temporal_env, db_url, tmp_path) -> None:
    for name, text in (await _record(temporal_env.client, db_url, tmp_path)).items():
        result = await replayer().replay_workflow(WorkflowHistory.from_json(name, text))
        assert result.replay_failure is None


if __name__ == "__main__" and sys.argv[1:] == ["record"]:
    async def _main() -> None:
        import tempfile

        from temporalio.contrib.opentelemetry import TracingInterceptor
        from temporalio.testing import WorkflowEnvironment

        from core import search_attributes
        from migrations.runner import upgrade
        from worker.devserver import temporal_binary
        with tempfile.TemporaryDirectory() as d:
            db = f"sqlite:///{d}/h.db"
            await asyncio.to_thread(upgrade, db)
            async with await WorkflowEnvironment.start_local(
                    dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
                    data_converter=pydantic_data_converter, interceptors=[TracingInterceptor()]) as env:
                for name, text in (await _record(env.client, db, Path(d))).items():
                    (HISTORIES / f"{name}.json").write_text(text)
    asyncio.run(_main())
