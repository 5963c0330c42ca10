"""Wire the batch worker: ``BatchWorkflow``, its children (``AIRequestWorkflow``) and their activities
on the batch task queue.

Batch traffic has its own task queue (default ``switchyard-batch``, ``SWITCHYARD_BATCH_TASK_QUEUE``)
and its own slots, so a backlog of batch items never sits in front of interactive requests on the
request queue (``shared/TEMPORAL.md`` recommendation 11); batch children also carry a lower
Temporal priority (``core.batch.BATCH_PRIORITY``). The worker shares the request worker's
:class:`worker.runtime.Services` (database engine, HTTP pool, live config).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import ResourceBasedSlotConfig, Worker, WorkerTuner

from activities.attempt import AttemptActivities
from activities.batch import BatchActivities
from activities.cache import CacheActivities
from activities.planning import PlanningActivities
from activities.storage.batches import BatchStore
from activities.storage.payloads import INLINE_LIMIT_BYTES
from worker.runtime import Services, sandbox_runner
from workflows.batch import BatchWorkflow
from workflows.request import AIRequestWorkflow


def build_batch_worker(client: Client, services: Services, task_queue: str, *,
                       inline_limit_bytes: int = INLINE_LIMIT_BYTES, max_concurrent: int = 100,
                       target_cpu: float | None = None,
                       graceful_shutdown_timeout: timedelta = timedelta(0)) -> Worker:
    """A worker for batch workflows, their request children and all their activities on ``task_queue``.

    ``max_concurrent`` bounds workflow tasks and activities of this worker (a batch's own
    ``concurrency`` bounds its items in flight). ``target_cpu`` (0..1, machine-wide): hand out
    batch slots only while the machine's CPU use is under it (Temporal's resource-based slot
    supplier), so a batch yields the CPU to interactive requests on the same machine."""
    planning = PlanningActivities(services.configs, services.cooldowns, cache=services.cache)
    attempts = AttemptActivities(services.configs, services.http, services.outcomes, services.cooldowns,
                                 services.payloads, inline_limit_bytes=inline_limit_bytes,
                                 limiters=services.limiters, budgets=services.budgets, cache=services.cache,
                                 prompts=services.prompts)
    batch = BatchActivities(BatchStore(services.engine), services.payloads)
    limits: dict[str, object] = {"max_concurrent_local_activities": max_concurrent,
                                 "max_concurrent_activities": max_concurrent,
                                 "max_concurrent_workflow_tasks": max_concurrent}
    if target_cpu is not None:
        slots = ResourceBasedSlotConfig(minimum_slots=1, maximum_slots=max_concurrent)
        limits = {"tuner": WorkerTuner.create_resource_based(
            target_memory_usage=0.9, target_cpu_usage=target_cpu, workflow_config=slots, activity_config=slots,
            local_activity_config=slots)}
    return Worker(client, task_queue=task_queue, workflows=[BatchWorkflow, AIRequestWorkflow],
                  activities=[planning.plan, attempts.attempt, batch.begin, batch.page, batch.record, batch.finish,
                              *([CacheActivities(services.configs, services.cache).stale] if services.cache else [])],
                  workflow_runner=sandbox_runner(), graceful_shutdown_timeout=graceful_shutdown_timeout,
                  **limits)  # type: ignore[arg-type]
