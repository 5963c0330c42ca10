"""Rate limits hold across two gateway processes sharing one store: a ``switchyard gateway``
subprocess and an in-process gateway, on the same database (and the same Redis), serve one
tenant's requests in turn; together they admit no more than the tenant's limit."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.configs import REPO, sim_config_dict
from tests.gateway.conftest import chat, gateway_under_test
from tests.gateway.test_rate_store import redis_up

LIMIT = 4  # requests per minute for the tenant: one refills every 15 s


@asynccontextmanager
async def gateway_process(tmp: Path, cfg: dict, env: dict[str, str]) -> AsyncIterator[str]:
    """``switchyard gateway`` in its own session on ``cfg``; yields its base URL."""
    path, ready, log_path = tmp / "gateway.yaml", tmp / "gateway.ready", tmp / "gateway.log"
    path.write_text(yaml.safe_dump(cfg))
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "gateway", "--config", str(path),
                                 "--ready-file", str(ready)], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(600):
            if ready.exists() and ready.read_text().strip():
                break
            assert proc.poll() is None, log_path.read_text()[-3000:]
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("gateway did not start listening within 60 s")
        yield f"http://127.0.0.1:{ready.read_text().strip()}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("store", ["database", "redis"])
async def test_two_gateway_processes_share_one_tenant_limit(temporal_env, db_url, sim, tmp_path, store: str) -> None:
    if store == "redis" and not await redis_up():
        pytest.skip("no Redis server at 127.0.0.1:6379")
    tenant = f"replicas-{uuid.uuid4().hex[:8]}"
    admission = {"store": store, "tenants": {tenant: {"requests_per_min": LIMIT}}}
    cfg = sim_config_dict(sim.base_url, gateway={"auth": "off", "port": 0}, admission=admission)
    env = {**os.environ, "SWITCHYARD_HOME": str(tmp_path / "home"), "DATABASE_URL": db_url,
           "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": temporal_env.client.namespace, "OTEL_TRACES_EXPORTER": "none",
           "SWITCHYARD_TASK_QUEUE": f"gw-sub-{uuid.uuid4().hex[:8]}"}
    async with gateway_process(tmp_path, cfg, env) as url, \
            gateway_under_test(temporal_env.client, sim, db_url, config={"admission": admission}) as local, \
            httpx.AsyncClient(base_url=url, timeout=60) as remote:
        t0 = time.monotonic()
        codes: list[tuple[str, int]] = []
        for i in range(10):
            client, name = (remote, "remote") if i % 2 == 0 else (local.http, "local")
            r = await client.post("/v1/chat/completions", json=chat(), headers={"x-switchyard-tenant": tenant})
            codes.append((name, r.status_code))
            if r.status_code == 429:
                assert r.json()["error"]["type"] == "rate_limit_error" and int(r.headers["retry-after"]) >= 1
        elapsed = time.monotonic() - t0
    admitted = [name for name, code in codes if code == 200]
    assert all(code in (200, 429) for _, code in codes), codes
    # at most the burst plus what refilled meanwhile (one request per 60/LIMIT s)
    assert LIMIT <= len(admitted) <= LIMIT + math.floor(elapsed * LIMIT / 60), codes
    assert {"remote", "local"} <= set(admitted), codes  # both processes served the tenant
