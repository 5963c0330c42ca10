"""Latency of a conversation turn: local activities in the update handler (``ConversationWorkflow``)
vs a child ``AIRequestWorkflow`` per turn, next to a one-shot request and the provider itself.

On the embedded default (dev server with a WAL SQLite file, SQLite database), one process hosting
the client, the workers and the simulator (targets answer in ~1 ms). Sequential turns, each case
in interleaved rounds so machine noise hits every case alike; conversations restart every
``--turns-per-conversation`` turns so prompts stay realistic.

- **direct**: one HTTP call to the simulator (the provider's own time);
- **request**: a one-shot ``AIRequestWorkflow``, eager start (the request path);
- **turn (local activities)**: ``ConversationClient.send`` on a running conversation: update-with-
  start (``USE_EXISTING``) -> plan + attempt (+ stored history) + transcript write as local
  activities in the update handler;
- **turn (child workflow)**: the alternative (``bench/conversation_child.py``): the update handler
  starts a child ``AIRequestWorkflow`` with the whole history and waits for it.

    python -m bench.conversation [--turns 150] [--turns-per-conversation 25]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from pathlib import Path

import httpx
import yaml
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.conversation_child import ChildTurnConversation
from bench.overhead import MESSAGES, SCENARIO, latencies
from core import search_attributes
from core.chat import ChatRequest
from core.conversation import ConversationConfig
from core.request import RequestInput, RequestResult
from core.stats import percentile
from migrations.runner import upgrade
from simulator.server import run_simulator
from worker.config_loader import ConfigHolder
from worker.conversations import ConversationClient
from worker.devserver import temporal_binary
from worker.runtime import Services, build_worker, sandbox_runner
from worker.simulated import sim_config
from worker.submit import SwitchyardClient

ROUNDS = 5


class Rotating:
    """A conversation id that changes every ``every`` turns."""

    def __init__(self, prefix: str, every: int) -> None:
        self.prefix, self.every, self.n = prefix, every, 0

    def next(self) -> str:
        self.n += 1
        return f"{self.prefix}-{(self.n - 1) // self.every}"


async def run_all(client: Client, base_url: str, db: str, turns: int, every: int) -> dict[str, list[float]]:
    services = Services.open(db, ConfigHolder.fixed(sim_config(base_url)))
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    sy = SwitchyardClient(client, queue)
    conv = ConversationClient(client, queue, defaults=ConversationConfig(task_type="support_reply"))
    inp = RequestInput(request=ChatRequest.model_validate({"messages": MESSAGES, "max_tokens": 200}),
                       task_type="support_reply")
    la_ids, child_ids = Rotating(f"bench-la-{queue}", every), Rotating(f"bench-child-{queue}", every)
    async with httpx.AsyncClient(base_url=base_url) as http, build_worker(client, services, queue), \
            Worker(client, task_queue=queue + "-child", workflows=[ChildTurnConversation],
                   workflow_runner=sandbox_runner()):
        async def direct() -> None:
            (await http.post("/r/us-east/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES,
                                                                      "max_tokens": 200})).raise_for_status()

        async def request() -> None:
            await sy.submit(inp, eager=True)

        async def turn_la() -> None:
            await conv.send(la_ids.next(), "Where is my refill order NW-48213? The app says processing.")

        async def turn_child() -> None:
            wf_id = child_ids.next()
            start = WithStartWorkflowOperation(ChildTurnConversation.run, queue, id=wf_id, task_queue=queue + "-child",
                                               id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
            await client.execute_update_with_start_workflow(
                ChildTurnConversation.turn, "Where is my refill order NW-48213? The app says processing.",
                start_workflow_operation=start, result_type=RequestResult)
        calls = {"direct": direct, "request": request, "turn (local activities)": turn_la,
                 "turn (child workflow)": turn_child}
        out: dict[str, list[float]] = {name: [] for name in calls}
        for call in calls.values():
            await latencies(call, 5)  # warm-up
        for _ in range(ROUNDS):
            for name, call in calls.items():
                out[name] += await latencies(call, max(1, turns // ROUNDS))
    await services.aclose()
    return out


def print_table(lat: dict[str, list[float]], turns: int, every: int) -> None:
    print(f"\nbench/conversation: {turns} sequential calls per case ({ROUNDS} interleaved rounds), a new "
          f"conversation every {every} turns")
    print(f"{'':26}{'p50 ms':>10}{'p99 ms':>10}{'added p50':>11}")
    direct = percentile(lat["direct"], 50)
    for name, xs in lat.items():
        p50 = percentile(xs, 50)
        print(f"{name:26}{p50:>10.1f}{percentile(xs, 99):>10.1f}{p50 - direct:>11.1f}")
    la, child = (percentile(lat[k], 50) - direct for k in ("turn (local activities)", "turn (child workflow)"))
    print(f"\nadded p50, child workflow / local activities = {child / la:.2f}x")


async def main(turns: int, every: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        db = f"sqlite:///{tmpd / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, db)
        (tmpd / "s.yaml").write_text(yaml.safe_dump(SCENARIO))
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
            data_converter=pydantic_data_converter, dev_server_database_filename=str(tmpd / "temporal.db"),
            dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"])
        async with env, run_simulator(str(tmpd / "s.yaml"), port=0) as sim:
            lat = await run_all(env.client, sim.base_url, db, turns, every)
    print_table(lat, turns, every)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=150)
    ap.add_argument("--turns-per-conversation", type=int, default=25)
    a = ap.parse_args()
    asyncio.run(main(a.turns, a.turns_per_conversation))
