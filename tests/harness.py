"""Test harness: a request worker in-process on a fresh task queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client

from activities.storage.payloads import INLINE_LIMIT_BYTES
from core.config import SwitchyardConfig
from worker.config_loader import ConfigHolder
from worker.runtime import Services, build_worker
from worker.submit import SwitchyardClient


@asynccontextmanager
async def request_worker(client: Client, cfg: SwitchyardConfig, db_url: str, *,
                         inline_limit_bytes: int = INLINE_LIMIT_BYTES) -> AsyncIterator[SwitchyardClient]:
    """A request worker on a fresh task queue, and a client helper submitting to it."""
    services = Services.open(db_url, ConfigHolder.fixed(cfg))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = build_worker(client, services, queue, inline_limit_bytes=inline_limit_bytes)
    try:
        async with worker:
            yield SwitchyardClient(client, queue, services.payloads)
    finally:
        await services.aclose()
