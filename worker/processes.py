"""Background processes of the embedded stack: pid files, liveness, detached start, stop.

Each process of ``switchyard up`` (dev server, worker, simulator) runs detached in its own session
with its output in ``$SWITCHYARD_HOME/logs/<name>.log`` and its pid and metadata in
``$SWITCHYARD_HOME/run/<name>.json``; a second ``up`` reads these files and finds the running
stack instead of starting another.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class ProcessRecord:
    """A started process: ``name``, ``pid`` and free-form ``meta`` (ports, config path)."""

    name: str
    pid: int
    meta: dict[str, Any]

    def alive(self) -> bool:
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _record_path(home: Path, name: str) -> Path:
    return home / "run" / f"{name}.json"


def read_record(home: Path, name: str) -> ProcessRecord | None:
    """The record of a live process named ``name``; stale records are removed."""
    path = _record_path(home, name)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    rec = ProcessRecord(name=name, pid=int(data["pid"]), meta=data.get("meta", {}))
    if not rec.alive():
        path.unlink(missing_ok=True)
        return None
    return rec


def start_detached(home: Path, name: str, cmd: list[str], meta: dict[str, Any],
                   env: dict[str, str] | None = None) -> ProcessRecord:
    """Start ``cmd`` in its own session, output to ``logs/<name>.log``, and record it."""
    (home / "run").mkdir(parents=True, exist_ok=True)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    log = open(home / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **(env or {})})
    log.close()
    rec = ProcessRecord(name=name, pid=proc.pid, meta=meta)
    _record_path(home, name).write_text(json.dumps({"pid": rec.pid, "meta": meta}))
    return rec


def stop(home: Path, name: str, timeout_s: float = 10.0) -> bool:
    """SIGTERM the recorded process (SIGKILL after ``timeout_s``); True if one was running."""
    rec = read_record(home, name)
    if rec is None:
        return False
    try:
        os.killpg(rec.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout_s
    while rec.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    if rec.alive():
        os.killpg(rec.pid, signal.SIGKILL)
    _record_path(home, name).unlink(missing_ok=True)
    return True
