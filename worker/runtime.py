"""Wire the worker: collaborators (database, HTTP client, config) -> activities -> Temporal Worker.

:class:`Services` owns everything with a lifetime (engine, HTTP connection pool) and is closed
with ``aclose()``. :func:`build_worker` registers the workflows and the activity methods on one
task queue. The workflow sandbox stays on (its runtime checks catch ``datetime.now()``, ``random``
and I/O in workflow code) but is made cheap: pydantic, our pure ``core`` package and our
``workflows`` package (no import side effects, no mutable globals) are passed through instead of
re-imported on every run (``shared/TEMPORAL.md`` recommendation 10). Measured on the 2-core dev
box with ``bench/overhead.py``-style runs: p50 of a request 59 ms with only pydantic and ``core``
passed through, 47 ms with ``workflows`` too, 40 ms unsandboxed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.attempt import AttemptActivities
from activities.cache import CacheActivities, ResponseCache
from activities.concurrency import TargetLimiters
from activities.conversation import ConversationActivities
from activities.drill import DrillActivities
from activities.early_reply import EarlyReplies
from activities.embeddings import EmbeddingActivities
from activities.failover_budgets import FailoverBudgets
from activities.head_start import HeadStarts
from activities.health.service import HealthService
from activities.learning import LearningActivities
from activities.normalizing import OutputStage
from activities.planning import PlanningActivities
from activities.prompting import PromptStage
from activities.providers.http import make_http_client
from activities.semantic_cache import SemanticCache
from activities.semantic_embedder import QuestionEmbedder, RouteEmbedder
from activities.semantic_index import SemanticIndex
from activities.storage.cache_store import CacheStore
from activities.storage.conversations import ConversationStore
from activities.storage.cooldowns import CooldownStore
from activities.storage.drill_store import DrillStore
from activities.storage.drill_windows import DrillWindows
from activities.storage.engine import make_engine
from activities.storage.learning_queries import OutcomeAggregator
from activities.storage.outcomes import OutcomeStore
from activities.storage.payloads import INLINE_LIMIT_BYTES, PayloadStore
from activities.storage.prompt_rewrites import RewriteStore
from activities.storage.rankings import RankingCache, RankingStore
from activities.streams.hub import StreamHub
from activities.streams.publisher import StreamPublisher
from core.config import ConfigSource
from worker.stream_reader import StreamReader
from workflows.conversation import ConversationWorkflow
from workflows.drill import DrillWorkflow
from workflows.embedding import EmbeddingWorkflow
from workflows.learning import LearningWorkflow
from workflows.request import AIRequestWorkflow

WORKFLOWS = [AIRequestWorkflow, EmbeddingWorkflow, ConversationWorkflow, LearningWorkflow, DrillWorkflow]


@dataclass
class Services:
    """The worker's collaborators; create with :meth:`open`, close with :meth:`aclose`."""

    engine: AsyncEngine
    http: httpx.AsyncClient
    configs: ConfigSource
    outcomes: OutcomeStore
    cooldowns: CooldownStore
    payloads: PayloadStore
    rankings: RankingCache | None = None
    health: HealthService | None = None
    streams: StreamPublisher | None = None  # the attempts' side of the fast lane (activities/streams/)
    reader: StreamReader | None = None      # this process's readers' side (gateway, SwitchyardClient)
    limiters: TargetLimiters | None = None  # this process's adaptive per-target limits (activities/concurrency.py)
    budgets: FailoverBudgets | None = None  # this process's failover budgets per route
    cache: ResponseCache | None = None      # the response cache (activities/cache.py; routes turn it on)
    early: EarlyReplies | None = None       # this process's early-reply waiters (activities/early_reply.py)
    heads: HeadStarts | None = None         # this process's head-started first tries (activities/head_start.py)
    prompts: PromptStage | None = None      # prompt variants and stored rewrites (activities/prompting.py)

    @classmethod
    def open(cls, db_url: str, configs: ConfigSource) -> Services:
        engine = make_engine(db_url)
        http = make_http_client()
        publisher, reader = open_streams(configs, engine)
        outcomes = OutcomeStore(engine)
        return cls(engine=engine, http=http, configs=configs, outcomes=outcomes,
                   cooldowns=CooldownStore(engine), payloads=PayloadStore(engine),
                   rankings=RankingCache(RankingStore(engine)), health=HealthService(engine, configs, http),
                   streams=publisher, reader=reader,
                   limiters=TargetLimiters(lambda: configs.current()[0].concurrency),
                   budgets=FailoverBudgets(lambda: configs.current()[0].concurrency.failover_budget),
                   cache=open_cache(configs, engine, outcomes, http), early=EarlyReplies(), heads=HeadStarts(),
                   prompts=PromptStage(RewriteStore(engine), http, os.environ))

    async def aclose(self) -> None:
        if self.prompts is not None:
            await self.prompts.drain()
        if self.health is not None:
            await self.health.aclose()
        if self.reader is not None and self.reader.feed is not None:
            await self.reader.feed.aclose()
        if self.streams is not None and self.streams.shared is not None:
            await self.streams.shared.aclose()
        if self.cache is not None:
            await self.cache.drain()
            await self.cache.store.aclose()
        await self.http.aclose()
        await self.engine.dispose()


def open_cache(configs: ConfigSource, engine: AsyncEngine, outcomes: OutcomeStore,
               http: httpx.AsyncClient) -> ResponseCache:
    """The response cache on the Switchyard database, with the Redis hot tier when
    ``cache_store.redis_url`` is set (read at start), and its semantic lookups (routes with
    ``cache.mode: semantic``; the vector index on the same database, bounded by ``max_entries``)."""
    cfg = configs.current()[0].cache_store
    store = CacheStore.from_url(engine, cfg.redis_url, max_entries=cfg.max_entries, evict_every=cfg.evict_every,
                                memory_entries=cfg.memory_entries, memory_ttl_s=cfg.memory_ttl_s)
    cache = ResponseCache(store, outcomes)
    cache.semantic = SemanticCache(cache, QuestionEmbedder(RouteEmbedder(configs, http)),
                                   SemanticIndex(engine, max_rows=cfg.max_entries))
    return cache


def open_streams(configs: ConfigSource, engine: AsyncEngine) -> tuple[StreamPublisher, StreamReader]:
    """One hub for the process, the configured shared channel (``streams:`` in the config), the
    publisher the attempts use and the reader the gateway and client helper use."""
    cfg = configs.current()[0].streams
    hub = StreamHub()
    if cfg.channel == "off":
        return StreamPublisher(hub), StreamReader(hub)
    from activities.streams.factory import open_channel  # imports the channel's client library
    from activities.streams.remote import RemoteFeed
    shared = open_channel(cfg, engine)
    feed = RemoteFeed(shared, poll_ms=cfg.poll_ms, retain_s=cfg.retain_s) if shared is not None else None
    return StreamPublisher(hub, shared), StreamReader(hub, feed)


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The default sandbox with pydantic, ``core`` and ``workflows`` passed through."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "pydantic", "pydantic_core", "core", "workflows"))


def make_planner(services: Services, drills: DrillWindows | None = None) -> PlanningActivities:
    """Planning on the services' config, cooldowns, rankings, health, cache and live drill
    windows (``drills``; default: read from the services' database) - the planning activity's,
    and the gateway's plan-ahead."""
    health = services.health.monitor if services.health else None
    return PlanningActivities(services.configs, services.cooldowns, rankings=services.rankings, health=health,
                              cache=services.cache, drills=drills or DrillWindows(services.engine))


def build_worker(client: Client, services: Services, task_queue: str, *,
                 inline_limit_bytes: int = INLINE_LIMIT_BYTES, max_concurrent: int = 100,
                 graceful_shutdown_timeout: timedelta = timedelta(0)) -> Worker:
    """A worker for request workflows and their activities on ``task_queue``."""
    health = services.health.monitor if services.health else None
    windows = DrillWindows(services.engine)  # live drill windows, read by planning
    planning = make_planner(services, drills=windows)
    learning = LearningActivities(services.configs, OutcomeAggregator(services.engine), RankingStore(services.engine),
                                  evals=DrillStore(services.engine))
    attempts = AttemptActivities(services.configs, services.http, services.outcomes, services.cooldowns,
                                 services.payloads, inline_limit_bytes=inline_limit_bytes, health=health,
                                 streams=services.streams, limiters=services.limiters,
                                 budgets=services.budgets, cache=services.cache, early=services.early,
                                 prompts=services.prompts, outputs=OutputStage(services.payloads),
                                 heads=services.heads)
    if services.heads is not None:
        services.heads.bind(attempts.head_start)
    conversations = ConversationActivities(ConversationStore(services.engine), attempts, services.payloads,
                                           services.cooldowns)
    embeddings = EmbeddingActivities(services.configs, services.http, services.outcomes, services.payloads)
    drills = DrillActivities(services.configs, DrillStore(services.engine), windows)
    cached = [CacheActivities(services.configs, services.cache).stale] if services.cache is not None else []
    return Worker(client, task_queue=task_queue, workflows=WORKFLOWS,
                  activities=[planning.plan, attempts.attempt, embeddings.embed, *conversations.all(),
                              learning.gather, learning.write, *drills.all(), *cached],
                  workflow_runner=sandbox_runner(),
                  max_concurrent_local_activities=max_concurrent, max_concurrent_activities=max_concurrent,
                  max_concurrent_workflow_tasks=max_concurrent,
                  graceful_shutdown_timeout=graceful_shutdown_timeout)
