"""The CLI turns bad input and an absent stack into one clear line and an exit code, never a
traceback, and checks what it can before it touches the running stack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from worker.cli import app
from worker.demo import DemoPortBusy, _check_port_free
from worker.settings import REPO_ROOT

runner = CliRunner()


@pytest.mark.parametrize("args", [["demo", "--rate", "-1"], ["demo", "--rate", "0"], ["demo", "--speed", "0"]])
def test_demo_rejects_a_rate_or_speed_that_is_not_positive(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_unknown_scenario_is_one_line_listing_the_bundled_ones() -> None:
    result = runner.invoke(app, ["simulate", "no-such-scenario", "--port", "1"])
    assert result.exit_code == 2
    assert "no scenario file 'no-such-scenario'" in result.output
    assert "basic-primary-down" in result.output
    assert "Traceback" not in result.output


def test_demo_refuses_a_busy_simulator_port_before_anything_else() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(DemoPortBusy, match=f"port {port} .* in use"):
            _check_port_free(port)
    _check_port_free(port)  # free again once released


def test_submit_without_a_temporal_server_says_how_to_start_one() -> None:
    env = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:1"}
    proc = subprocess.run([sys.executable, "-m", "worker.cli", "submit", "hello"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert "no Temporal server answers at 127.0.0.1:1" in proc.stderr
    assert "switchyard up" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_real_provider_demo_names_missing_keys_and_refuses_when_none_is_set() -> None:
    from rich.console import Console

    from worker.config_loader import load_config
    from worker.demo import DemoKeysMissing, _check_keys

    cfg = load_config(REPO_ROOT / "examples" / "switchyard.yaml")
    with pytest.raises(DemoKeysMissing, match="OPENAI_API_KEY"):
        _check_keys(cfg, Console(), env={})
    console = Console(record=True, width=200)
    _check_keys(cfg, console, env={"OPENAI_API_KEY": "sk-secret-value"})
    out = console.export_text()
    assert "ANTHROPIC_API_KEY" in out and "sk-secret-value" not in out and "OPENAI_API_KEY" not in out


def test_batch_list_and_export_read_the_database_without_a_temporal_server(tmp_path) -> None:
    env = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:1", "SWITCHYARD_HOME": str(tmp_path / "home")}
    env.pop("DATABASE_URL", None)
    listed = subprocess.run([sys.executable, "-m", "worker.cli", "batch", "list"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "batch" in listed.stdout and "Temporal" not in listed.stderr
    export = subprocess.run([sys.executable, "-m", "worker.cli", "batch", "export", "batch-none", "--out",
                             str(tmp_path / "out")], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert export.returncode == 1 and "no batch 'batch-none'" in export.stderr
