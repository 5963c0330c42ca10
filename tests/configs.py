"""Test configs: ``examples/simulated.yaml`` pointed at a running simulator."""

from __future__ import annotations

from pathlib import Path

from worker.simulated import SIMULATED, sim_config, sim_config_dict

REPO = Path(__file__).resolve().parent.parent
__all__ = ["REPO", "SIMULATED", "sim_config", "sim_config_dict"]
