"""Shared pieces of the batch tests: a fast scenario, a config with a route whose every target can be
taken down, batch files, an in-process batch worker, and database reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.storage.batch_tables import batch_items, batch_results
from activities.storage.batches import BatchStore
from activities.storage.tables import outcomes
from core.config import SwitchyardConfig
from tests.configs import sim_config_dict
from worker.batch_client import BatchClient
from worker.batch_runtime import build_batch_worker
from worker.config_loader import ConfigHolder, parse_config
from worker.runtime import Services

PRIMARY = "openai/gpt-4o@us-east"
DOOMED = ["anthropic/claude-3-5-sonnet@us-east", "gemini/gemini-2.0-flash@us-central"]

FAST_SCENARIO: dict[str, Any] = {
    "name": "batch-fast", "source": "synthetic", "summary": "fast targets for batch tests", "time_scale": 1,
    "seed": 5, "baseline": {"latency_ms": {"median": 10, "p99": 30}, "ttft_ms": {"median": 4, "p99": 10},
                            "output_tokens": {"median": 30, "p99": 60}, "error_rate": 0.0},
    "targets": {t: {} for t in [PRIMARY, "openai/gpt-4o@eu-west", *DOOMED, "openai/local-llama-3.1-8b@local"]},
    "timeline": [],
}


def scenario_file(tmp: Path, **baseline: Any) -> Path:
    """The fast scenario (``baseline`` overrides, e.g. ``latency_ms``) written to ``tmp``."""
    data = json.loads(json.dumps(FAST_SCENARIO))
    data["baseline"].update(baseline)
    path = tmp / "batch-scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def config_dict(base_url: str, target_timeout_s: float | None = None) -> dict[str, Any]:
    """The simulated config plus route ``doomed`` (chain: :data:`DOOMED`, one retry each)."""
    data = sim_config_dict(base_url)
    data["routes"]["doomed"] = {"chain": ["anthropic/claude-3-5-sonnet", "gemini/gemini-2.0-flash"], "retries": 1,
                                "max_retry_wait_s": 1, "deadline_s": 30}
    if target_timeout_s is not None:
        for t in data["targets"]:
            t["timeout_s"] = target_timeout_s
    return data


def config(base_url: str) -> SwitchyardConfig:
    return parse_config(yaml.safe_dump(config_dict(base_url)), "batch-test")


def write_batch(path: Path, n: int, doomed: set[int] = frozenset()) -> Path:
    """A batch file of ``n`` template items; item numbers in ``doomed`` use route ``doomed``."""
    lines = []
    for i in range(1, n + 1):
        line: dict[str, Any] = {"id": f"cust-{i}", "template": "Write a short reply to {name} about order {order}.",
                                "system": "You answer for {company}.", "max_tokens": 60,
                                "variables": {"name": f"Customer {i}", "order": f"NW-{i:05d}", "company": "Northwind"}}
        if i in doomed:
            line["task_type"] = "doomed"
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class BatchRig:
    """An in-process batch worker on a fresh queue: its client helper and services."""

    client: BatchClient
    services: Services
    queue: str


@asynccontextmanager
async def batch_worker(client: Client, cfg: SwitchyardConfig, db_url: str,
                       target_cpu: float | None = None) -> AsyncIterator[BatchRig]:
    services = Services.open(db_url, ConfigHolder.fixed(cfg))
    queue = f"test-batch-{uuid.uuid4().hex[:8]}"
    try:
        async with build_batch_worker(client, services, queue, target_cpu=target_cpu):
            yield BatchRig(BatchClient(client, BatchStore(services.engine), queue), services, queue)
    finally:
        await services.aclose()


async def sim_apply(base_url: str, target: str, **settings: Any) -> None:
    async with httpx.AsyncClient() as c:
        (await c.post(f"{base_url}/_sim/apply", json={"target": target, "set": settings})).raise_for_status()


async def sim_reset(base_url: str, target: str = "*") -> None:
    async with httpx.AsyncClient() as c:
        (await c.post(f"{base_url}/_sim/apply", json={"target": target, "reset": True})).raise_for_status()


async def sim_calls(base_url: str) -> dict[str, int]:
    """Generation calls per target so far."""
    async with httpx.AsyncClient() as c:
        r = await c.get(f"{base_url}/_sim/stats")
    r.raise_for_status()
    return {t: v["calls"] for t, v in r.json()["targets"].items()}


async def result_rows(engine: AsyncEngine, batch_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(batch_results).where(batch_results.c.batch_id == batch_id)
                                   .order_by(batch_results.c.n, batch_results.c.round))).all()


async def item_rows(engine: AsyncEngine, batch_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(batch_items).where(batch_items.c.batch_id == batch_id)
                                   .order_by(batch_items.c.n))).all()


async def outcome_rows(engine: AsyncEngine, workflow_prefix: str) -> list[Any]:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(outcomes).where(outcomes.c.workflow_id.like(workflow_prefix + "%"))
                                   .order_by(outcomes.c.workflow_id, outcomes.c.seq, outcomes.c.try_no))).all()
