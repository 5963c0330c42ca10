"""One worker process's health layer: monitor + database sync + prober, with one lifetime.

    health = HealthService(engine, configs, http)
    await health.start()        # resume the published state, start syncing and probing (else
                                # planning starts it on its first call: monitor.ensure_started)
    ...                         # planning reads health.monitor.views(); attempts call observe_outcome()
    await health.aclose()
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.health.monitor import HealthMonitor
from activities.health.prober import Prober
from activities.health.sync import HealthSync
from activities.storage.health import HealthStore
from core.config import ConfigSource


class HealthService:
    """See module docstring. ``probes``: run the active prober; ``interval_s``: sync period."""

    def __init__(self, engine: AsyncEngine, configs: ConfigSource, http: httpx.AsyncClient, *,
                 probes: bool = True, interval_s: float = 1.0, clock: Callable[[], float] = time.time,
                 env: Mapping[str, str] | None = None, rng: random.Random | None = None) -> None:
        self.worker_id = f"w-{uuid.uuid4().hex[:8]}"
        self.store = HealthStore(engine)
        self.monitor = HealthMonitor(configs, clock=clock, rng=rng)
        self.prober = Prober(self.monitor, configs, http, self.store, self.worker_id, env=env) if probes else None
        self.sync = HealthSync(self.monitor, self.store, worker_id=self.worker_id, interval_s=interval_s,
                               prober=self.prober)
        self.monitor.starter = self.sync.start

    async def start(self) -> None:
        """Idempotent."""
        await self.sync.start()

    async def aclose(self) -> None:
        await self.sync.aclose()
