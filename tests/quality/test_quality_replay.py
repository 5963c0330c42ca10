"""Determinism guard for the quality paths: request histories recorded with prompt variants, a JSON
repair and the one-repair bound (``tests/quality/histories/*.json``, recorded with
``python -m tests.quality.test_quality_replay record``) replay with the current workflow code."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from tests.harness import request_worker
from tests.integration.test_replay import replayer
from tests.quality.conftest import config, fault
from tests.quality.test_normalize_stack import _json
from tests.quality.test_variants import PRIMARY, PROMPTS, SECOND, _ask
from worker.submit import RequestFailed

HISTORIES = Path(__file__).resolve().parent / "histories"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_quality_history_replays(path: Path) -> None:
    result = await replayer().replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()),
                                              raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_are_committed() -> None:
    assert {p.stem for p in HISTORIES.glob("*.json")} == {"variants-failover", "json-repaired", "repair-bounded"}


async def _record(client, db_url: str, sim) -> dict[str, str]:
    """Three requests: a failover across variants, a repaired JSON answer, the repair bound."""
    ids: dict[str, str] = {}
    for t in (PRIMARY, SECOND):
        await fault(sim, t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    async with request_worker(client, config(sim, support_reply={"prompts": PROMPTS}), db_url) as sy:
        ids["variants-failover"] = (await sy.submit(_ask())).workflow_id
    for t in (PRIMARY, SECOND):
        await fault(sim, t, error_rate=0.0, corrupt_share=1.0, corrupt_kind="invalid_json")
    async with request_worker(client, config(sim, json_extraction={"normalize": {"repair": True}}), db_url) as sy:
        ids["json-repaired"] = (await sy.submit(_json())).workflow_id
    bound = {"normalize": {"repair": True, "json_schema": {"type": "object", "required": ["sku"]}}}
    async with request_worker(client, config(sim, json_extraction=bound), db_url) as sy:
        try:
            await sy.submit(_json())
        except RequestFailed as e:
            ids["repair-bounded"] = e.workflow_id
    return {name: (await client.get_workflow_handle(wf).fetch_history()).to_json() for name, wf in ids.items()}


if __name__ == "__main__" and sys.argv[1:] == ["record"]:
    async def _main() -> None:
        import tempfile

        import yaml
        from temporalio.contrib.opentelemetry import TracingInterceptor
        from temporalio.contrib.pydantic import pydantic_data_converter
        from temporalio.testing import WorkflowEnvironment

        from core import search_attributes
        from migrations.runner import upgrade
        from simulator.server import run_simulator
        from tests.integration.test_request_path import FAST_SCENARIO
        from worker.devserver import temporal_binary
        with tempfile.TemporaryDirectory() as d:
            db = f"sqlite:///{d}/h.db"
            await asyncio.to_thread(upgrade, db)
            (Path(d) / "fast.yaml").write_text(yaml.safe_dump(FAST_SCENARIO))
            async with await WorkflowEnvironment.start_local(
                    dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
                    data_converter=pydantic_data_converter, interceptors=[TracingInterceptor()]) as env, \
                    run_simulator(str(Path(d) / "fast.yaml"), port=0) as sim:
                for name, text in (await _record(env.client, db, sim)).items():
                    (HISTORIES / f"{name}.json").write_text(text)
    asyncio.run(_main())
