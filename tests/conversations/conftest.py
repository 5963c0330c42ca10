"""Fixtures for conversation tests: a fast simulator, no leftover cooldowns, and a conversation
worker whose provider HTTP client records every request body it sends (the wire format each
target received, to check what a failover sent)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
import yaml
from temporalio.client import Client

from activities.providers.http import make_http_client
from activities.storage.conversations import ConversationStore
from activities.storage.cooldowns import CooldownStore
from activities.storage.engine import make_engine
from activities.storage.outcomes import OutcomeStore
from activities.storage.payloads import INLINE_LIMIT_BYTES, PayloadStore
from activities.storage.tables import cooldowns
from core.config import SwitchyardConfig
from core.conversation import ConversationConfig
from simulator.server import run_simulator
from tests.integration.test_request_path import FAST_SCENARIO
from worker.config_loader import ConfigHolder
from worker.conversations import ConversationClient
from worker.runtime import Services, build_worker, open_streams


@dataclass
class Sent:
    """Request bodies the worker sent, in order: (URL path, JSON body)."""

    calls: list[tuple[str, dict]] = field(default_factory=list)

    async def hook(self, request: httpx.Request) -> None:
        if request.method == "POST":
            self.calls.append((request.url.path, json.loads(request.content or b"{}")))

    def to(self, fragment: str) -> list[dict]:
        """Bodies sent to paths containing ``fragment`` (e.g. ``/v1/messages`` for Anthropic)."""
        return [body for path, body in self.calls if fragment in path]


@dataclass
class ConvWorker:
    conv: ConversationClient
    sent: Sent
    store: ConversationStore
    queue: str


@pytest.fixture(autouse=True)
async def no_cooldowns(engine) -> None:
    """Cooldowns live in the shared database; each test starts without any."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(cooldowns))


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator:
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST_SCENARIO))
    async with run_simulator(str(path), port=0) as s:
        yield s


@asynccontextmanager
async def conversation_worker(client: Client, cfg: SwitchyardConfig, db_url: str, *, queue: str | None = None,
                              defaults: ConversationConfig | None = None,
                              task_timeout: timedelta = timedelta(seconds=10),
                              inline_limit_bytes: int = INLINE_LIMIT_BYTES) -> AsyncIterator[ConvWorker]:
    """A worker on a fresh task queue (or ``queue``) and a conversation client for it."""
    engine = make_engine(db_url)
    sent = Sent()
    http = make_http_client()
    http.event_hooks["request"].append(sent.hook)
    configs = ConfigHolder.fixed(cfg)
    services = Services(engine=engine, http=http, configs=configs, outcomes=OutcomeStore(engine),
                        cooldowns=CooldownStore(engine), payloads=PayloadStore(engine),
                        streams=open_streams(configs, engine)[0])
    queue = queue or f"conv-{uuid.uuid4().hex[:8]}"
    store = ConversationStore(engine)
    try:
        async with build_worker(client, services, queue, inline_limit_bytes=inline_limit_bytes):
            conv = ConversationClient(client, queue, payloads=services.payloads, store=store,
                                      defaults=defaults or ConversationConfig(task_type="support_reply"),
                                      task_timeout=task_timeout)
            yield ConvWorker(conv, sent, store, queue)
    finally:
        await services.aclose()


def new_id() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"
