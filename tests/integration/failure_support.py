"""Shared pieces of the failure-case integration tests: a fast simulator scenario, configs with
custom routes, the simulator's control API, and reads of outcome rows and cooldowns."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from activities.health.service import HealthService
from activities.storage.cooldowns import CooldownStore
from activities.storage.payloads import INLINE_LIMIT_BYTES
from activities.storage.tables import cooldowns, outcomes
from core.chat import ChatMessage, ChatRequest
from core.config import SwitchyardConfig
from core.request import RequestInput
from simulator.server import run_simulator
from tests.configs import sim_config_dict
from worker.config_loader import ConfigHolder, parse_config
from worker.runtime import Services, build_worker
from worker.submit import SwitchyardClient

US = "openai/gpt-4o@us-east"
EU = "openai/gpt-4o@eu-west"
CLAUDE = "anthropic/claude-3-5-sonnet@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"
LOCAL = "openai/local-llama-3.1-8b@local"

SCENARIO = {
    "name": "failure-cases", "source": "synthetic", "summary": "fast targets", "time_scale": 1, "seed": 3,
    "baseline": {"latency_ms": {"median": 10, "p99": 30}, "ttft_ms": {"median": 4, "p99": 10},
                 "output_tokens": {"median": 30, "p99": 60}, "error_rate": 0.0},
    "targets": {t: {} for t in [US, EU, CLAUDE, GEMINI, LOCAL]},
    "timeline": [],
}


@asynccontextmanager
async def fast_simulator(tmp_path: Any) -> AsyncIterator[Any]:
    """The simulator serving :data:`SCENARIO` on a free loopback port."""
    path = tmp_path / "failure-cases.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    async with run_simulator(str(path), port=0) as running:
        yield running


async def clear_cooldowns(engine: Any) -> None:
    """Cooldowns live in the shared database; each test starts without any."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(cooldowns))


@asynccontextmanager
async def worker(client: Any, cfg: SwitchyardConfig, db_url: str, *,
                 inline_limit_bytes: int = INLINE_LIMIT_BYTES) -> AsyncIterator[SwitchyardClient]:
    """``tests.harness.request_worker`` with the health layer's active prober off: probes are real
    provider calls and would add to the per-target call counts these tests assert exactly."""
    services = Services.open(db_url, ConfigHolder.fixed(cfg))
    if getattr(services, "health", None) is not None:
        await services.health.aclose()
        services.health = HealthService(services.engine, services.configs, services.http, probes=False)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    try:
        async with build_worker(client, services, queue, inline_limit_bytes=inline_limit_bytes):
            yield SwitchyardClient(client, queue, services.payloads)
    finally:
        await services.aclose()


def config(sim: Any, routes: dict[str, dict[str, Any]], **target_changes: dict[str, Any]) -> SwitchyardConfig:
    """``examples/simulated.yaml`` on ``sim`` with these routes (``default_route``: the first) and
    per-target field changes (``{target id: {field: value}}``, ids with ``/@.-`` as given)."""
    data = sim_config_dict(sim.base_url)
    data["routes"] = {name: {"retries": 1, "max_retry_wait_s": 3, "deadline_s": 60, **r} for name, r in routes.items()}
    data["default_route"] = next(iter(routes))
    for t in data["targets"]:
        t.update(target_changes.get(f"{t['provider']}/{t['model']}@{t['region']}", {}))
    return parse_config(yaml.safe_dump(data), "failure-cases")


async def fault(sim: Any, target: str, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
    """Every call of ``target`` answers ``status`` with ``body`` (the provider's own when ``None``)."""
    spec: dict[str, Any] = {"status": status}
    if body is not None:
        spec["body"] = body
    if headers:
        spec["headers"] = headers
    await control(sim, "apply", {"target": target, "set": {"error_rate": 1.0, "errors": [spec]}})


async def control(sim: Any, what: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        r = await (c.post(f"/_sim/{what}", json=body) if body is not None else c.get(f"/_sim/{what}"))
        r.raise_for_status()
        return r.json()


async def calls(sim: Any) -> dict[str, int]:
    """Generation calls each target received (``/_sim/stats``)."""
    stats = await control(sim, "stats")
    return {t: s["calls"] for t, s in stats["targets"].items()}


def ask(text: str = "Where is my refill order NW-48213?", *, messages: list[dict[str, Any]] | None = None,
        request: dict[str, Any] | None = None, **kw: Any) -> RequestInput:
    msgs = messages or [{"role": "system", "content": "You are a support agent."}, {"role": "user", "content": text}]
    req = ChatRequest(messages=[ChatMessage.model_validate(m) for m in msgs], max_tokens=200, **(request or {}))
    return RequestInput(request=req, **kw)


async def rows(engine, workflow_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(outcomes).where(outcomes.c.workflow_id == workflow_id)
                                   .order_by(outcomes.c.seq, outcomes.c.try_no))).all()


async def cooled(engine) -> dict[str, float]:
    """Active cooldowns: target -> until (unix s)."""
    return {t: c.until for t, c in (await CooldownStore(engine).active()).items()}


def tried(trace: Any) -> list[tuple[str, int, str | None]]:
    """``(target, try, error class)`` of every call in a routing trace."""
    return [(a.target, a.try_no, a.error_class) for a in trace.attempts]
