"""Serving the gateway: embedded in an event loop (tests, benchmarks) or as ``switchyard gateway``.

- ``async with serve_app(app, port=0) as url:`` runs uvicorn as a task of the current loop (no
  signal capture) and yields ``http://127.0.0.1:<bound port>``.
- :func:`run_gateway` is the process: migrations, Temporal client, :func:`open_gateway` (request
  worker on the same client, for eager start), then uvicorn until SIGINT/SIGTERM; in-flight
  requests get up to 30 s to finish. ``ready_file`` receives the bound port once it listens
  (``switchyard up`` waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from migrations.runner import upgrade
from worker.client import connect
from worker.config_loader import ConfigHolder
from worker.gateway.app import build_app
from worker.gateway.state import open_gateway
from worker.settings import Settings
from worker.telemetry import setup_tracing

log = logging.getLogger("switchyard.gateway")
STARTUP_TIMEOUT_S = 10.0
GRACEFUL_SHUTDOWN_S = 30


class _Server(uvicorn.Server):
    """uvicorn without signal capture when embedded (the host process owns its signals)."""

    def __init__(self, config: uvicorn.Config, *, embedded: bool) -> None:
        super().__init__(config)
        self.embedded = embedded

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self.embedded:
            yield
            return
        with super().capture_signals():
            yield


def _config(app: ASGIApp, host: str, port: int, embedded: bool) -> uvicorn.Config:
    extra = {"log_config": None} if embedded else {}
    return uvicorn.Config(app, host=host, port=port, lifespan="off", access_log=False, log_level="warning",
                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, **extra)


async def _started(server: _Server, task: asyncio.Task[None]) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_S
    while not server.started:
        if task.done():
            raise RuntimeError(f"gateway failed to start: {task.exception() if not task.cancelled() else 'cancelled'}")
        if loop.time() > deadline:
            raise RuntimeError("gateway did not start listening in time")
        await asyncio.sleep(0.005)
    return server.servers[0].sockets[0].getsockname()[1]


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` from the current loop; yields its base URL (no trailing slash)."""
    server = _Server(_config(app, host, port, embedded=True), embedded=True)
    task = asyncio.create_task(server.serve())
    try:
        bound = await _started(server, task)
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, GRACEFUL_SHUTDOWN_S + 3)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` with ``SO_REUSEPORT``: several gateway processes
    bind the same port and the kernel spreads new connections across them (Linux 3.9+)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def run_gateway(settings: Settings, config_path: Path, *, host: str | None = None, port: int | None = None,
                      ready_file: Path | None = None, reuse_port: bool = False, migrate: bool = True) -> None:
    """The ``switchyard gateway`` process (see module docstring). ``host``/``port`` override the
    config's ``gateway`` section; ``reuse_port``: bind with ``SO_REUSEPORT`` (one of several
    processes on one port, ``worker/gateway/multiproc.py``); ``migrate``: run the migrations first
    (the multi-process parent runs them once). Raises ``worker.config_loader.ConfigError`` for a bad config."""
    setup_tracing("gateway")
    configs = ConfigHolder(config_path)
    gw_cfg = configs.current()[0].gateway
    host = host or gw_cfg.host
    port = gw_cfg.port if port is None else port
    if migrate:
        await asyncio.to_thread(upgrade, settings.db_url())
    client = await connect(settings)
    async with open_gateway(client, configs, settings.db_url(), settings.task_queue) as gw:
        server = _Server(_config(build_app(gw), host, port, embedded=False), embedded=False)
        sockets = [reuse_port_socket(host, port)] if reuse_port else None
        task = asyncio.create_task(server.serve(sockets=sockets))
        bound = await _started(server, task)
        log.info("gateway on http://%s:%s (auth %s, task queue %s, config %s)", host, bound, gw_cfg.auth,
                    settings.task_queue, config_path)
        if ready_file is not None:
            ready_file.write_text(f"{bound}\n")
        try:
            await task
        finally:
            if ready_file is not None:
                ready_file.unlink(missing_ok=True)
