"""``switchyard gateway --processes N``: N gateway processes on one port, each with its own worker.

The parent runs the migrations once, picks the port (a free one for port 0), then starts N children
(``switchyard gateway --reuse-port --no-migrate``), each a whole gateway: its own event loop,
Temporal client and in-process request worker on the same task queue (so eager start keeps
working per process), binding the port with ``SO_REUSEPORT`` so the kernel spreads new connections
across them. Python runs one core per process (the GIL), so this is how the gateway uses more cores.

What the processes share and what each keeps for itself (``docs/PERFORMANCE.md``):

- shared through the database (or Redis where configured): API keys, rate-limit buckets
  (``admission.store``), money budgets, cooldowns, health rows, outcome rows, the response cache,
  learned rankings;
- per process: the key cache (``gateway.key_cache_s``: a revocation reaches the others within it),
  the in-memory health view (synced from the health rows), load-shedding in-flight counts (a
  route's ``overload`` capacity applies **per process**), adaptive per-target concurrency limits
  and failover budgets, and live-stream hubs (a stream is read in the process that started it).

The parent forwards SIGINT/SIGTERM to the children and waits for them; when one child exits on
its own, the parent stops the others and exits with that child's code (a supervisor restarts
the whole group). ``ready_file`` gets the port once every child listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from migrations.runner import upgrade
from worker.config_loader import ConfigHolder
from worker.settings import Settings

log = logging.getLogger("switchyard.gateway")
READY_TIMEOUT_S = 120.0


def _pick_port(host: str, port: int) -> int:
    """``port``, or for 0 a free port on ``host``."""
    if port:
        return port
    import socket  # noqa: PLC0415

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _spawn(config_path: Path, host: str, port: int, ready: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "worker.cli", "gateway", "--config", str(config_path), "--host", host,
           "--port", str(port), "--reuse-port", "--no-migrate", "--ready-file", str(ready)]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)


def _wait_ready(children: list[subprocess.Popen[bytes]], readies: list[Path]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not all(r.exists() for r in readies):
        for c in children:
            if c.poll() is not None:
                raise RuntimeError(f"gateway process {c.pid} exited with {c.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError("gateway processes did not start listening in time")
        time.sleep(0.05)


def run_processes(settings: Settings, config_path: Path, processes: int, *, host: str | None = None,
                  port: int | None = None, ready_file: Path | None = None) -> int:
    """Run ``processes`` gateway children until a signal or a child's exit; returns the exit code.
    Raises ``worker.config_loader.ConfigError`` for a bad config, ``RuntimeError`` when a child
    fails to start."""
    gw_cfg = ConfigHolder(config_path).current()[0].gateway
    host = host or gw_cfg.host
    port = _pick_port(host, gw_cfg.port if port is None else port)
    upgrade(settings.db_url())
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def _forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for c in children:
            if c.poll() is None:
                c.send_signal(signum)
    old = {s: signal.signal(s, _forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            readies = [Path(tmp) / f"ready-{i}" for i in range(processes)]
            children += [_spawn(config_path, host, port, r) for r in readies]
            _wait_ready(children, readies)
        log.info("gateway on http://%s:%s with %d processes (pids %s)", host, port, processes,
                 ", ".join(str(c.pid) for c in children))
        if ready_file is not None:
            ready_file.write_text(f"{port}\n")
        return _supervise(children, lambda: stopping)
    finally:
        for c in children:
            if c.poll() is None:
                c.terminate()
        for c in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                c.wait(40)
        for s, h in old.items():
            signal.signal(s, h)
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)


def _supervise(children: list[subprocess.Popen[bytes]], stopping) -> int:  # type: ignore[no-untyped-def]
    while True:
        for c in children:
            code = c.poll()
            if code is not None:
                if not stopping():
                    log.error("gateway process %s exited with %s; stopping the others", c.pid, code)
                return code
        time.sleep(0.2)


def run_event_loop(main: object) -> None:
    """``asyncio.run(main)`` on uvloop when it is installed (the ``uvloop`` dependency; measured in
    ``docs/PERFORMANCE.md``), else on the default loop. ``SWITCHYARD_LOOP=asyncio`` forces the default."""
    if os.environ.get("SWITCHYARD_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop  # noqa: PLC0415
        except ImportError:
            pass
        else:
            uvloop.run(main)  # type: ignore[arg-type]
            return
    asyncio.run(main)  # type: ignore[arg-type]
