"""Rate limits, shedding and budgets apply to every generation endpoint, not only chat: one
tenant's request limit is shared by ``/v1/chat/completions``, ``/v1/responses`` and ``/v1/messages``."""

from __future__ import annotations

from tests.apis.conftest import api_config
from tests.gateway.conftest import chat, gateway_under_test


async def test_one_tenant_limit_across_the_three_apis(temporal_env, db_url, sim) -> None:
    config = {**api_config(sim.base_url),
              "admission": {"store": "database", "tenants": {"capped-apis": {"requests_per_min": 3}}}}
    hdrs = {"x-switchyard-tenant": "capped-apis"}
    async with gateway_under_test(temporal_env.client, sim, db_url, config=config) as gut:
        codes = [(await gut.http.post("/v1/chat/completions", json=chat(), headers=hdrs)).status_code,
                 (await gut.http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi"},
                                      headers=hdrs)).status_code,
                 (await gut.http.post("/v1/messages", json={"model": "gpt-4o", "max_tokens": 50, "messages": [
                     {"role": "user", "content": "hi"}]}, headers=hdrs)).status_code]
        assert codes == [200, 200, 200]
        r = await gut.http.post("/v1/responses", json={"model": "gpt-4o", "input": "again"}, headers=hdrs)
        assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error" and r.headers["retry-after"]
        m = await gut.http.post("/v1/messages", json={"model": "gpt-4o", "max_tokens": 50, "messages": [
            {"role": "user", "content": "again"}]}, headers=hdrs)
        assert m.status_code == 429 and m.json()["error"]["type"] == "rate_limit_error"  # Anthropic's shape
        assert m.json()["type"] == "error"
