"""The gateway as a background process of the embedded stack (``switchyard up``).

Started detached like the worker (``worker/processes.py``: pid record ``run/gateway.json``, output
in ``logs/gateway.log``), listening where the config's ``gateway`` section says. A second ``up``
finds it through its record and starts nothing; a gateway running a different config, task queue
or address is restarted. ``switchyard down`` stops it (record name ``gateway``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from worker.config_loader import load_config
from worker.devserver import port_open
from worker.processes import read_record, start_detached, stop
from worker.settings import Settings

NAME = "gateway"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class GatewayProcess:
    """A running gateway: ``url`` is ``http://host:port``; ``started`` is False when it was reused."""

    pid: int
    url: str
    started: bool


def gateway_url(settings: Settings) -> str | None:
    """The URL of this home's running gateway, or ``None``."""
    rec = read_record(settings.home, NAME)
    return rec.meta.get("url") if rec is not None else None


async def ensure_gateway(settings: Settings, config_path: Path, keys: list[str] | None = None) -> GatewayProcess:
    """Reuse or start the gateway (see module docstring); raises ``RuntimeError`` if it does not
    come up within :data:`START_TIMEOUT_S`, naming its log file. ``keys``: names of the provider
    key variables set now (``worker.stack.keys_set``); a gateway started with others is restarted."""
    gw = load_config(config_path).gateway
    want = {"config": str(config_path), "task_queue": settings.task_queue, "host": gw.host, "port": gw.port,
            "keys": keys or []}
    rec = read_record(settings.home, NAME)
    if rec is not None and all(rec.meta.get(k) == v for k, v in want.items()):
        return GatewayProcess(pid=rec.pid, url=rec.meta["url"], started=False)
    if rec is not None:
        stop(settings.home, NAME)
    if gw.port and port_open(gw.port, gw.host):
        raise RuntimeError(f"cannot start the gateway: {gw.host}:{gw.port} is already in use; set gateway.port "
                           f"in {config_path} (0 = any free port)")
    ready = settings.home / "run" / "gateway.ready"
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "worker.cli", "gateway", "--config", str(config_path), "--ready-file", str(ready)]
    env = {"SWITCHYARD_HOME": str(settings.home), "SWITCHYARD_DEV_PORT": str(settings.dev_port),
           "DATABASE_URL": settings.db_url(), "SWITCHYARD_TASK_QUEUE": settings.task_queue}
    rec = start_detached(settings.home, NAME, cmd, want, env=env)
    port = await _wait_ready(ready, rec.alive, settings.home / "logs" / f"{NAME}.log")
    url = f"http://{gw.host}:{port}"
    # the bound port is known only now (port 0 = any): add it to the record start_detached wrote
    (settings.home / "run" / f"{NAME}.json").write_text(json.dumps({"pid": rec.pid, "meta": {**want, "url": url}}))
    return GatewayProcess(pid=rec.pid, url=url, started=True)


async def _wait_ready(ready: Path, alive: Callable[[], bool], log: Path) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while loop.time() < deadline:
        if ready.exists() and ready.read_text().strip():
            return int(ready.read_text().strip())
        if not alive():
            raise RuntimeError(f"gateway exited; see {log}")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"gateway did not start listening within {START_TIMEOUT_S:.0f} s; see {log}")
