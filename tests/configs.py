"""Test configs: ``examples/simulated.yaml`` pointed at a running simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.config import SwitchyardConfig
from worker.config_loader import parse_config

REPO = Path(__file__).resolve().parent.parent
SIMULATED = REPO / "examples" / "simulated.yaml"


def sim_config_dict(base_url: str, **overrides: Any) -> dict[str, Any]:
    """``examples/simulated.yaml`` as a dict with every provider pointed at ``base_url``."""
    data = yaml.safe_load(SIMULATED.read_text())
    for p in data["providers"].values():
        p["base_url"] = p["base_url"].replace("http://127.0.0.1:8300", base_url)
    data.update(overrides)
    return data


def sim_config(base_url: str, **overrides: Any) -> SwitchyardConfig:
    """The validated config of :func:`sim_config_dict`."""
    return parse_config(yaml.safe_dump(sim_config_dict(base_url, **overrides)), "test")
