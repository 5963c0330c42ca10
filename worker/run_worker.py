"""Run a request worker in the foreground until SIGINT/SIGTERM (``switchyard worker``).

Connects to Temporal (``worker/client.py``), applies the database migrations, loads the config
with hot reload (``worker/config_loader.py``) and polls the request task queue. On a signal it
stops polling and lets running activities finish for up to ``GRACEFUL_SHUTDOWN`` (an LLM call
in flight is worth finishing; ``shared/TEMPORAL.md`` section 1.4).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from pathlib import Path

from activities.alerts.evaluator import AlertEvaluator
from core.metrics_config import MetricsConfig
from migrations.runner import upgrade
from worker import metrics_setup
from worker.batch_runtime import build_batch_worker
from worker.client import connect
from worker.config_loader import ConfigHolder
from worker.runtime import Services, build_worker
from worker.settings import Settings
from worker.telemetry import setup_tracing

GRACEFUL_SHUTDOWN = timedelta(seconds=30)
log = logging.getLogger("switchyard.worker")


def _start_metrics(cfg: MetricsConfig, services: Services) -> None:
    """Install the metrics SDK and serve ``/metrics`` on ``metrics.worker_port`` (a taken port is
    logged and the worker runs without its endpoint)."""
    if not cfg.enabled:
        return
    metrics_setup.setup_metrics()
    if services.health is not None:
        metrics_setup.watch_health(services.health.monitor)
    if cfg.worker_port is None:
        return
    try:
        port = metrics_setup.serve_worker_metrics(cfg.worker_host, cfg.worker_port)
        log.info("metrics on http://%s:%s/metrics", cfg.worker_host, port)
    except OSError as e:
        log.warning("metrics endpoint %s:%s not started: %s", cfg.worker_host, cfg.worker_port, e)


async def run_worker(settings: Settings, config_path: Path, task_queue: str, *,
                     ready_file: Path | None = None, batch_task_queue: str | None = None) -> None:
    """Serve ``task_queue`` (and ``batch_task_queue``, when given, with a batch worker sharing the
    same services) until a signal arrives; ``ready_file`` is written once polling starts."""
    setup_tracing("worker")
    configs = ConfigHolder(config_path)
    await asyncio.to_thread(upgrade, settings.db_url())
    client = await connect(settings)
    services = Services.open(settings.db_url(), configs)
    _start_metrics(configs.current()[0].metrics, services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(client, services, task_queue, graceful_shutdown_timeout=GRACEFUL_SHUTDOWN)
    batch = (build_batch_worker(client, services, batch_task_queue, target_cpu=settings.batch_target_cpu,
                                graceful_shutdown_timeout=GRACEFUL_SHUTDOWN) if batch_task_queue else None)
    alerts = asyncio.create_task(AlertEvaluator(services.engine, configs, services.http).run())
    try:
        async with worker, batch or contextlib.nullcontext():
            log.info("worker polling %s (batch queue: %s) with config %s (version %s)", task_queue,
                     batch_task_queue or "none", config_path, configs.current()[1])
            if ready_file is not None:
                ready_file.write_text("ready\n")
            await stop.wait()
    finally:
        alerts.cancel()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
        await services.aclose()
