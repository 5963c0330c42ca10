"""Determinism guard for ``ConversationWorkflow``: recorded histories replay with the current code.

``histories/*.json`` are the three runs of one real conversation (first answer, a failover that moves
the pin, continue-as-new after two turns, a turn on the carried pin, a turn no target can serve and a
close), recorded with ``python -m tests.conversations.test_replay record``. A change that alters
the command sequence of an existing conversation fails here; guard it with ``workflow.patched``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from core.chat import ChatMessage, ChatRequest
from core.conversation import ConversationConfig
from simulator.server import run_simulator
from tests.configs import sim_config
from tests.conversations.conftest import conversation_worker
from tests.integration.test_request_path import FAST_SCENARIO, PRIMARY, SECOND, apply, reset
from worker.conversations import TurnFailed
from worker.runtime import WORKFLOWS, sandbox_runner

HISTORIES = Path(__file__).resolve().parent / "histories"


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=sandbox_runner())


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_committed_conversation_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def record(client: Client, db_url: str, tmp: Path) -> dict[str, str]:
    """Run the conversation described in the module docstring; returns run name -> history JSON."""
    scen = tmp / "fast.yaml"
    scen.write_text(yaml.safe_dump(FAST_SCENARIO))
    defaults = ConversationConfig(task_type="support_reply", max_turns_per_run=2)
    async with run_simulator(str(scen), port=0) as sim:
        async with conversation_worker(client, sim_config(sim.base_url), db_url, defaults=defaults) as w:
            await w.conv.send("recorded", "Where is my refill order NW-48213?")
            for t in (PRIMARY, SECOND):
                await apply(sim, t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
            await w.conv.send("recorded", "It was due on Monday.")
            for t in (PRIMARY, SECOND):
                await reset(sim, t)
            await w.conv.send("recorded", "Please expedite it.")
            with pytest.raises(TurnFailed):
                await w.conv.send("recorded", ChatRequest(messages=[ChatMessage(role="user", content="All of it.")],
                                                          max_tokens=2_000_000))  # no target fits: a failed turn
            await w.conv.close("recorded", reason="resolved")
            wf_id = w.conv.workflow_id("recorded")
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{wf_id}'")][::-1]
    return {f"conversation-run{i}": (await client.get_workflow_handle(wf_id, run_id=r.run_id).fetch_history()).to_json()
            for i, r in enumerate(runs, start=1)}


if __name__ == "__main__" and sys.argv[1:] == ["record"]:
    async def _main() -> None:
        import tempfile

        from temporalio.testing import WorkflowEnvironment

        from core import search_attributes
        from migrations.runner import upgrade
        from worker.devserver import temporal_binary
        with tempfile.TemporaryDirectory() as d:
            db = f"sqlite:///{d}/h.db"
            await asyncio.to_thread(upgrade, db)
            async with await WorkflowEnvironment.start_local(
                    dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
                    data_converter=pydantic_data_converter) as env:
                for name, text in (await record(env.client, db, Path(d))).items():
                    (HISTORIES / f"{name}.json").write_text(text)
    asyncio.run(_main())
