"""Process settings, read once at start-up from the environment (pydantic-settings).

| variable | default | meaning |
|---|---|---|
| ``SWITCHYARD_HOME`` | ``~/.switchyard`` | data directory: dev-server SQLite file, database, logs, pid files |
| ``SWITCHYARD_CONFIG`` | ``./switchyard.yaml``, else bundled ``examples/simulated.yaml`` | routes, targets |
| ``DATABASE_URL`` | ``sqlite:///$SWITCHYARD_HOME/switchyard.db`` | outcomes database (PostgreSQL in production) |
| ``SWITCHYARD_TASK_QUEUE`` | ``switchyard-requests`` | task queue of request workflows |
| ``SWITCHYARD_BATCH_TASK_QUEUE`` | ``switchyard-batch`` | task queue of batch workflows and their items |
| ``SWITCHYARD_BATCH_TARGET_CPU`` | unset | 0..1: the batch worker takes new work only while the CPU use is below it |
| ``SWITCHYARD_DEV_PORT`` | ``7233`` | gRPC port of the embedded dev server (UI on port + 1000) |

Temporal connection settings are NOT here: they come from Temporal's standard environment
configuration (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
``TEMPORAL_TLS_*``, ``TEMPORAL_PROFILE``/``TEMPORAL_CONFIG_FILE``), see ``worker/client.py``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_SIMULATED_CONFIG = REPO_ROOT / "examples" / "simulated.yaml"


class Settings(BaseSettings):
    """See the module docstring for each variable."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".switchyard")
    config: Path | None = None
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    task_queue: str = "switchyard-requests"
    batch_task_queue: str = "switchyard-batch"
    batch_target_cpu: float | None = Field(default=None, gt=0, le=1)
    dev_port: int = 7233

    def config_path(self) -> Path:
        """The config file to load (see the module docstring for the fallback order)."""
        if self.config is not None:
            return self.config
        local = Path.cwd() / "switchyard.yaml"
        return local if local.exists() else BUNDLED_SIMULATED_CONFIG

    def db_url(self) -> str:
        """``DATABASE_URL``, or the embedded SQLite file under ``home``."""
        return self.database_url or f"sqlite:///{self.home / 'switchyard.db'}"
