"""What the gateway's handlers share, and the in-process worker that makes eager start work.

:func:`open_gateway` opens the collaborators (``worker.runtime.Services``: database engine, HTTP
pool, stores), starts a request worker on the task queue with the **same** Temporal ``Client`` the
handlers start workflows with, and yields a :class:`Gateway`. Eager workflow start needs exactly
that: a worker in the starting process, sharing its client, polling the target queue with a free
slot (``shared/TEMPORAL.md`` section 1.1, recommendation 1); the first workflow task, which for a
healthy target is the whole request, then runs here without a matching-service round trip.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.admission.store import open_store
from activities.planning import PlanningActivities
from activities.storage.api_keys import ApiKeyStore
from core.config import ConfigSource, SwitchyardConfig
from worker import metrics_setup
from worker.gateway.model_map import ModelMap, build_model_map
from worker.gateway.ratelimit import RateLimiter
from worker.gateway.shedding import Shedder
from worker.runtime import Services, build_worker, make_planner
from worker.submit import SwitchyardClient

#: How long in-flight requests may finish when the gateway stops (an LLM call is worth finishing).
GRACEFUL_SHUTDOWN = timedelta(seconds=30)


@dataclass
class Gateway:
    """Collaborators of the request handlers (``request.app.state.gateway``).

    ``started_at``: unix seconds, the ``created`` of ``/v1/models`` entries. ``limiter``: rate
    limits on the shared store chosen by ``admission.store`` at start; ``shedder``: this process's
    per-route load shedding (its ``serve_from_cache`` is the cache's hook); ``planner``: planning
    run before the start (``plan_ahead.py``; ``None``: the workflow plans)."""

    sy: SwitchyardClient
    configs: ConfigSource
    keys: ApiKeyStore
    services: Services
    worker: Worker | None
    started_at: int = field(default_factory=lambda: int(time.time()))
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(None))
    shedder: Shedder = field(default_factory=Shedder)
    planner: PlanningActivities | None = None  # plans requests before their start (plan_ahead.py)
    in_flight: asyncio.Semaphore | None = None  # whole-answer requests running (gateway.max_in_flight_workflows)
    _models: tuple[str, ModelMap] | None = None

    def config(self) -> tuple[SwitchyardConfig, ModelMap]:
        """The running config (hot-reloaded by the holder) and its model map, rebuilt per version."""
        cfg, version = self.configs.current()
        if self._models is None or self._models[0] != version:
            self._models = (version, build_model_map(cfg))
            self.keys.cache_s = cfg.gateway.key_cache_s
        return cfg, self._models[1]


def _cap(n: int) -> asyncio.Semaphore | None:
    return asyncio.Semaphore(n) if n else None


@asynccontextmanager
async def open_gateway(client: Client, configs: ConfigSource, db_url: str, task_queue: str, *,
                       graceful_shutdown: timedelta = GRACEFUL_SHUTDOWN) -> AsyncIterator[Gateway]:
    """A :class:`Gateway` with its request worker polling ``task_queue`` (see module docstring).

    The database must be migrated (``migrations.runner.upgrade``)."""
    services = Services.open(db_url, configs)
    cfg, _ = configs.current()
    if cfg.metrics.enabled:
        metrics_setup.setup_metrics()
        if services.health is not None:
            metrics_setup.watch_health(services.health.monitor)
    keys = ApiKeyStore(services.engine, cache_s=cfg.gateway.key_cache_s)
    worker = build_worker(client, services, task_queue, graceful_shutdown_timeout=graceful_shutdown,
                          max_concurrent=cfg.gateway.max_concurrent_requests)
    limiter = RateLimiter(open_store(cfg.admission, services.engine))
    try:
        async with worker:
            gw = Gateway(sy=SwitchyardClient(client, task_queue, services.payloads, services.reader),
                         configs=configs, keys=keys, services=services, worker=worker, limiter=limiter,
                         shedder=Shedder(limiters=services.limiters), planner=make_planner(services),
                         in_flight=_cap(cfg.gateway.max_in_flight_workflows))
            from worker.gateway.cache_hook import serve_from_cache  # noqa: PLC0415 - it imports Gateway
            gw.shedder.serve_from_cache = functools.partial(serve_from_cache, gw)  # shed requests: cache first
            yield gw
    finally:
        await limiter.aclose()
        await services.aclose()
