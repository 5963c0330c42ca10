"""Canary on the real stack: exactly the requests whose workflow id draws under the route's share
try the first backup first, and it answers them."""

from __future__ import annotations

import asyncio

import yaml

from core.canary import is_canary
from core.chat import ChatMessage, ChatRequest
from core.ids import request_workflow_id
from core.request import RequestInput
from tests.configs import sim_config_dict
from tests.drills.conftest import EU, PRIMARY, sim_calls
from tests.harness import request_worker
from worker.config_loader import parse_config

SHARE = 0.25
N = 60


async def test_canary_requests_reach_the_first_backup(temporal_env, db_url, engine, sim) -> None:
    data = sim_config_dict(sim.base_url)
    data["routes"]["support_reply"]["canary"] = {"share": SHARE}
    data["routes"]["support_reply"]["learn"] = "off"  # the configured order, whatever rankings the DB holds
    cfg = parse_config(yaml.safe_dump(data), "canary-test")
    keys = [f"canary-{i}" for i in range(N)]
    expected = {k for k in keys if is_canary(request_workflow_id("default", k), SHARE)}
    assert 0 < len(expected) < N
    before = await sim_calls(sim)
    async with request_worker(temporal_env.client, cfg, db_url) as sy:
        results = await asyncio.gather(*(sy.submit(RequestInput(
            request=ChatRequest(messages=[ChatMessage(role="user", content=f"Where is my order {i}?")], max_tokens=50),
            task_type="support_reply", idempotency_key=k)) for i, k in enumerate(keys)))
    used = {k: r.trace for k, r in zip(keys, results, strict=True)}
    assert {k for k, t in used.items() if t.canary} == expected
    assert all(t.target_used == EU and t.plan[:2] == [EU, PRIMARY] for k, t in used.items() if k in expected)
    assert all(t.target_used == PRIMARY for k, t in used.items() if k not in expected)
    assert all(t.plan_reasons[EU][0].startswith("canary") for k, t in used.items() if k in expected)
    after = await sim_calls(sim)
    assert after[EU] - before.get(EU, 0) == len(expected)
