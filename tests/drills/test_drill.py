"""Drills on the real stack: a backup the simulator breaks fails the drill and is named; the
``switchyard drill ROUTE --config FILE`` command against the running stack exits 1 for it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities.storage.drill_store import DrillStore
from activities.storage.tables import outcomes
from core.drill import TrialInput
from tests.configs import REPO, sim_config_dict
from tests.drills.conftest import CLAUDE, EU, GEMINI, LOCAL, PRIMARY, apply
from tests.harness import request_worker
from worker.config_loader import parse_config
from worker.runtime import WORKFLOWS, sandbox_runner
from worker.trial_runner import run_trial

SWITCHYARD = str(Path(sys.executable).with_name("switchyard"))


async def _cli(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(SWITCHYARD, *args, env=env, cwd=str(REPO),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode(), err.decode()


async def test_drill_fails_the_broken_backup_and_the_cli_exits_1(temporal_env, db_url, engine, sim,
                                                                 tmp_path) -> None:
    await apply(sim, CLAUDE, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    data = sim_config_dict(sim.base_url)
    # the latency verdict is tested in tests/unit/test_eval_checks.py; a loaded CI box must not fail a healthy
    # target of a 3-sample drill on one slow answer (what this test checks is the broken backup named)
    data["routes"]["support_reply"]["drill"] = {"count": 3, "max_latency_ratio": 1000, "latency_slack_ms": 60_000}
    cfg_file = tmp_path / "stack.yaml"
    cfg_file.write_text(yaml.safe_dump(data))
    cfg = parse_config(cfg_file.read_text(), "drill-test")
    async with request_worker(temporal_env.client, cfg, db_url) as sy:
        env = {**os.environ, "SWITCHYARD_HOME": str(tmp_path / "home"), "DATABASE_URL": db_url,
               "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
               "TEMPORAL_NAMESPACE": temporal_env.client.namespace, "OTEL_TRACES_EXPORTER": "none",
               "SWITCHYARD_TASK_QUEUE": sy.task_queue, "COLUMNS": "220"}
        code, out, err = await _cli(["drill", "support_reply", "--config", str(cfg_file)], env)
        assert code == 1, (out, err)
        assert f"drill FAILED: {CLAUDE}" in out
        for t in (EU, GEMINI, LOCAL):
            assert t in out
        # the same drill of the healthy backups passes (in process, same workflow)
        passed = await run_trial(sy.client, sy.task_queue, TrialInput(route="support_reply", targets=[EU, GEMINI]))
        history = await sy.client.get_workflow_handle(passed.run_id).fetch_history()
    assert passed.passed, passed.verdicts
    assert [v.target for v in passed.verdicts] == [EU, GEMINI]
    # the drill workflow replays deterministically from its history
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=sandbox_runner())
    await replayer.replay_workflow(history, raise_on_replay_failure=True)
    latest = await DrillStore(engine).latest_by_target()
    assert latest[CLAUDE].passed is False and latest[CLAUDE].success_rate == 0.0
    assert any("success rate 0%" in r for r in latest[CLAUDE].reasons)
    assert latest[GEMINI].passed is True and latest[PRIMARY].role == "primary"
    # every drill call was a real request forced to its target: the broken backup got 3 calls and
    # the walk never fell back to another target for them
    run_id = latest[CLAUDE].run_id
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(outcomes.c.target, outcomes.c.status_class).where(
            outcomes.c.workflow_id.like(f"{run_id}/{CLAUDE}/%")))).all()
    assert rows and {r.target for r in rows} == {CLAUDE} and all(r.status_class != "ok" for r in rows)
