"""Running the simulator: embedded in an event loop (tests, drills) or as a blocking server (CLI).

- ``async with run_simulator("basic-primary-down", port=0) as sim:`` starts uvicorn as a background
  task of the current loop; ``sim.base_url`` is ``http://127.0.0.1:<port>``, ``sim.world`` the live
  state, ``sim.app`` the ASGI app, ``sim.url_for(target)`` the region-prefixed base URL of a target.
- ``serve("scenario.yaml", port=8300)`` blocks until interrupted; the CLI's
  ``switchyard simulate SCENARIO.yaml --port 8300 [--time-scale N]`` calls it.

The scenario may be a :class:`~simulator.scenario.Scenario`, a path, or a bundled name. Access logs
are off unless asked for. Nothing happens at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from simulator.app import build_app
from simulator.scenario import Scenario, load_scenario, parse_target_id
from simulator.wire import quiet_incomplete_response_log, resettable_protocol
from simulator.world import World

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 10.0
GRACEFUL_SHUTDOWN_S = 2


class _SimServer(uvicorn.Server):
    """uvicorn's server that wakes hung exchanges before shutting down; no signal capture when
    embedded (the host process owns its signals)."""

    def __init__(self, config: uvicorn.Config, world: World, *, embedded: bool) -> None:
        super().__init__(config)
        self.world = world
        self.embedded = embedded

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self.embedded:
            yield
            return
        with super().capture_signals():
            yield

    async def shutdown(self, sockets: list | None = None) -> None:
        self.world.closing.set()
        await super().shutdown(sockets)


@dataclass
class RunningSimulator:
    """A simulator listening on ``host:port``."""

    world: World
    app: Starlette
    host: str
    port: int

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def url_for(self, target: str) -> str:
        """Base URL that pins requests to ``target``'s region: ``http://host:port/r/{region}``."""
        return f"{self.base_url}/r/{parse_target_id(target)[2]}"


def _as_scenario(scenario_or_path: Scenario | str | Path) -> Scenario:
    return scenario_or_path if isinstance(scenario_or_path, Scenario) else load_scenario(scenario_or_path)


def _config(app: Starlette, world: World, host: str, port: int, log_level: str, access_log: bool,
            embedded: bool) -> uvicorn.Config:
    extra = {"log_config": None} if embedded else {}
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=access_log,
                          lifespan="off", http=resettable_protocol(world.connections),
                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, **extra)


async def _wait_started(server: _SimServer, task: asyncio.Task[None]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_S
    while not server.started:
        if task.done():
            exc = task.exception() if not task.cancelled() else None
            raise RuntimeError(f"simulator failed to start: {exc!r}")
        if loop.time() > deadline:
            raise RuntimeError("simulator did not start in time")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def run_simulator(scenario_or_path: Scenario | str | Path, host: str = "127.0.0.1", port: int = 0,
                        time_scale: float | None = None, *, require_key: bool = False,
                        log_level: str = "warning", access_log: bool = False) -> AsyncIterator[RunningSimulator]:
    """Serve a scenario from the current event loop for the duration of the ``async with``."""
    world = World(_as_scenario(scenario_or_path), time_scale=time_scale)
    app = build_app(world, require_key=require_key)
    server = _SimServer(_config(app, world, host, port, log_level, access_log, embedded=True), world, embedded=True)
    with quiet_incomplete_response_log():
        task = asyncio.create_task(server.serve())
        try:
            await _wait_started(server, task)
            bound = server.servers[0].sockets[0].getsockname()[1]
            yield RunningSimulator(world, app, host, bound)
        finally:
            world.closing.set()
            server.should_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, GRACEFUL_SHUTDOWN_S + 3)


def serve(scenario_or_path: Scenario | str | Path, host: str = "127.0.0.1", port: int = 8300,
          time_scale: float | None = None, *, require_key: bool = False, log_level: str = "info",
          access_log: bool = False) -> None:
    """Serve a scenario until interrupted (blocking)."""
    scenario = _as_scenario(scenario_or_path)
    world = World(scenario, time_scale=time_scale)
    app = build_app(world, require_key=require_key)
    server = _SimServer(_config(app, world, host, port, log_level, access_log, embedded=False), world, embedded=False)
    log.info("simulating %s (time_scale %s) on http://%s:%s; targets: %s", scenario.name,
             world.clock.time_scale, host, port, ", ".join(world.targets))
    with quiet_incomplete_response_log():
        server.run()
