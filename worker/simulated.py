"""``examples/simulated.yaml`` pointed at a simulator running at any base URL.

The shipped file points every provider at ``http://127.0.0.1:8300``; demos, drills, benchmarks
and tests run the simulator elsewhere (often on a free port) and rewrite the base URLs here.
"""

from __future__ import annotations

from typing import Any

import yaml

from core.config import SwitchyardConfig
from worker.config_loader import parse_config
from worker.settings import REPO_ROOT

SIMULATED = REPO_ROOT / "examples" / "simulated.yaml"
SHIPPED_BASE = "http://127.0.0.1:8300"


def sim_config_dict(base_url: str, **overrides: Any) -> dict[str, Any]:
    """The simulated config as a dict, every provider's base URL moved to ``base_url``;
    ``overrides`` replace top-level keys."""
    data = yaml.safe_load(SIMULATED.read_text())
    for p in data["providers"].values():
        p["base_url"] = p["base_url"].replace(SHIPPED_BASE, base_url.rstrip("/"))
    data.update(overrides)
    return data


def sim_config(base_url: str, **overrides: Any) -> SwitchyardConfig:
    """The validated config of :func:`sim_config_dict`."""
    return parse_config(yaml.safe_dump(sim_config_dict(base_url, **overrides)), f"simulated@{base_url}")
