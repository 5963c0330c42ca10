"""The two systems under test in ``bench/chaos.py``, each as an async context yielding a
:class:`System` whose ``send(i)`` makes one interactive request and returns a :class:`bench.load.Reply`.

- **switchyard**: the embedded default (dev server + SQLite), one worker in process, a route
  ``chaos`` whose chain is the scenario's targets in file order (first = primary), retries 1.
- **litellm**: LiteLLM's ``Router`` (PyPI) over the same simulator: one model group per target,
  ``fallbacks`` in the same order, and its documented defaults for reliability:
  ``num_retries=2``, ``allowed_fails=3``, ``cooldown_time=5`` s (litellm ``constants.py``,
  RESILIENCE.md section 6.7). LiteLLM has no health layer: it cools a deployment down after
  failures and never reacts to latency or answer quality.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml
from temporalio.client import Client

from bench.load import Reply
from core.chat import ChatMessage, ChatRequest, ChatResponse, Usage
from core.config import SwitchyardConfig
from core.quality import check_answer
from core.request import RequestInput
from core.usage import cost_usd
from simulator.scenario import Scenario
from worker.config_loader import ConfigHolder, parse_config
from worker.runtime import Services, build_worker
from worker.simulated import sim_config_dict
from worker.submit import SwitchyardClient

ROUTE = "chaos"
LITELLM_SETTINGS = {"num_retries": 2, "allowed_fails": 3, "cooldown_time": 5}
_PREFIX = {"openai": ("openai", "/v1"), "anthropic": ("anthropic", ""), "gemini": ("gemini", "/v1beta")}


@dataclass
class System:
    name: str
    send: Callable[[int], Awaitable[Reply]]
    views: Callable[[], dict[str, Any]] | None = None
    events: list[Any] = field(default_factory=list)
    events_note: str = ""


def request(i: int) -> ChatRequest:
    return ChatRequest(max_tokens=400, messages=[
        ChatMessage(role="system", content="You are a support agent for an online pharmacy."),
        ChatMessage(role="user", content=f"Where is my refill order NW-{48213 + i}? The app says processing.")])


def chaos_config(base_url: str, sc: Scenario) -> SwitchyardConfig:
    """The simulated config with one route over the scenario's targets."""
    data = sim_config_dict(base_url)
    data["routes"] = {ROUTE: {"chain": list(sc.targets), "retries": 1, "max_retry_wait_s": 3, "deadline_s": 60}}
    data["default_route"] = ROUTE
    return parse_config(yaml.safe_dump(data), f"chaos@{base_url}")


@asynccontextmanager
async def switchyard(client: Client, db_url: str, base_url: str, sc: Scenario) -> AsyncIterator[System]:
    services = Services.open(db_url, ConfigHolder.fixed(chaos_config(base_url, sc)))
    queue = f"chaos-{uuid.uuid4().hex[:6]}"
    sy = SwitchyardClient(client, queue, services.payloads)

    async def send(i: int) -> Reply:
        req = request(i)
        res = await sy.submit(RequestInput(task_type=ROUTE, request=req))
        flags = check_answer(req, res.response) if res.response else ()
        return Reply(target=res.trace.target_used or "", first=res.trace.attempts[0].target,
                     failovers=res.trace.failovers, cost_usd=res.trace.cost_usd, flags=flags)
    try:
        async with build_worker(client, services, queue, max_concurrent=300):
            monitor = services.health.monitor
            await monitor.ensure_started()
            yield System("switchyard", send, views=monitor.views, events=monitor.board.events)
    finally:
        await services.aclose()


@asynccontextmanager
async def litellm(base_url: str, sc: Scenario) -> AsyncIterator[System]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: no cost-map download
    from litellm import Router  # noqa: PLC0415 - optional bench dependency, 15 s import
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    logging.getLogger("LiteLLM Router").setLevel(logging.ERROR)
    cfg = chaos_config(base_url, sc)
    targets = list(sc.targets)
    model_list = []
    for tid in targets:
        t = cfg.target(tid)
        prefix, suffix = _PREFIX[cfg.providers[t.provider].protocol]
        model_list.append({"model_name": tid, "model_info": {"id": tid}, "litellm_params": {
            "model": f"{prefix}/{t.model}", "api_base": f"{base_url}/r/{t.region}{suffix}", "api_key": "sk-sim",
            "timeout": t.timeout_s}})
    router = Router(model_list=model_list, fallbacks=[{targets[0]: targets[1:]}], **LITELLM_SETTINGS)

    async def send(i: int) -> Reply:
        req = request(i)
        resp = await router.acompletion(model=targets[0], messages=[m.model_dump(exclude_none=True)
                                                                    for m in req.messages], max_tokens=req.max_tokens)
        tid = resp._hidden_params.get("model_id") or targets[0]
        u = resp.usage
        cost = cost_usd(Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens),
                        cfg.target(tid).price) if tid in targets else 0.0
        mapped = ChatResponse.model_validate(resp.model_dump())
        return Reply(target=tid, cost_usd=cost, flags=check_answer(req, mapped))
    yield System("litellm", send)
