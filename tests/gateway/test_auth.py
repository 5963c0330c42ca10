"""Client authentication through the app in process: keys per tenant, hashed, revocable.

Each rejected request must get OpenAI's 401 body and must not start a workflow or call a provider.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from activities.storage.api_keys import api_keys, key_hash
from activities.storage.outcomes import OutcomeStore
from core import search_attributes as sa_keys
from tests.gateway.conftest import chat


def assert_openai_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    if code is not None:
        assert err["code"] == code
    return err


async def test_requests_without_a_valid_key_get_401_and_start_nothing(gw_auth) -> None:
    created = await gw_auth.gw.keys.create("acme")
    wrong = created.key[:-4] + ("0000" if not created.key.endswith("0000") else "1111")
    cases = [{}, {"authorization": "Bearer "}, {"authorization": f"Basic {created.key}"},
             {"authorization": "Bearer sk-not-a-switchyard-key"}, {"authorization": f"Bearer {wrong}"},
             {"x-api-key": wrong}, {"authorization": f"Bearer {wrong}", "x-api-key": created.key}]
    for headers in cases:
        r = await gw_auth.http.post("/v1/chat/completions", json=chat(), headers=headers)
        err = assert_openai_error(r, 401, "invalid_api_key")
        assert err["type"] == "invalid_request_error"
        assert created.key not in err["message"] and wrong not in err["message"]  # never echo a secret
    r = await gw_auth.http.get("/v1/models")
    assert_openai_error(r, 401, "invalid_api_key")
    assert gw_auth.started == [] and gw_auth.sim_calls() == 0


async def test_a_valid_key_runs_as_its_tenant_in_workflow_outcomes_and_search_attributes(
        gw_auth, engine, temporal_env) -> None:
    created = await gw_auth.gw.keys.create("acme", name="refill-app")
    r = await gw_auth.http.post("/v1/chat/completions", json=chat(),
                                headers={"authorization": f"Bearer {created.key}"})
    assert r.status_code == 200, r.text
    wf_id = r.headers["x-request-id"]
    by_x_api_key = await gw_auth.http.post("/v1/chat/completions", json=chat(), headers={"x-api-key": created.key})
    assert by_x_api_key.status_code == 200 and by_x_api_key.headers["x-switchyard-tenant"] == "acme"
    assert r.headers["x-switchyard-tenant"] == "acme"
    assert [i.tenant for i in gw_auth.started] == ["acme", "acme"]
    assert gw_auth.started[0].metadata["key_id"] == created.key_id
    rows = await OutcomeStore(engine).for_workflow(wf_id)
    assert [(row.tenant, row.status_class) for row in rows] == [("acme", "ok")]
    desc = await temporal_env.client.get_workflow_handle(wf_id).describe()
    assert desc.typed_search_attributes.get(sa_keys.TENANT) == "acme"
    async with engine.connect() as conn:  # only the hash is stored
        stored = (await conn.execute(sa.select(api_keys).where(api_keys.c.key_id == created.key_id))).one()
    assert stored.key_hash == key_hash(created.key) and created.key not in stored


async def test_a_key_cannot_act_for_another_tenant(gw_auth) -> None:
    created = await gw_auth.gw.keys.create("acme")
    auth = {"authorization": f"Bearer {created.key}"}
    r = await gw_auth.http.post("/v1/chat/completions", json=chat(), headers={**auth, "x-switchyard-tenant": "globex"})
    assert_openai_error(r, 403, "tenant_mismatch")
    r = await gw_auth.http.post("/v1/chat/completions", json=chat(metadata={"tenant": "globex"}), headers=auth)
    assert_openai_error(r, 403, "tenant_mismatch")
    r = await gw_auth.http.post("/v1/chat/completions", json=chat(), headers={**auth, "x-switchyard-tenant": "acme"})
    assert r.status_code == 200
    assert len(gw_auth.started) == 1


async def test_a_revoked_key_stops_working(gw_auth) -> None:
    created = await gw_auth.gw.keys.create("acme")
    auth = {"authorization": f"Bearer {created.key}"}
    assert (await gw_auth.http.get("/v1/models", headers=auth)).status_code == 200
    assert await gw_auth.gw.keys.revoke(created.key_id)
    assert_openai_error(await gw_auth.http.get("/v1/models", headers=auth), 401, "invalid_api_key")
    assert not await gw_auth.gw.keys.revoke(created.key_id)


async def test_auth_off_takes_the_tenant_from_headers_and_ignores_the_sdk_key(gw_open) -> None:
    r1, r2, r3 = await asyncio.gather(
        gw_open.http.post("/v1/chat/completions", json=chat(), headers={"authorization": "Bearer sk-anything"}),
        gw_open.http.post("/v1/chat/completions", json=chat(), headers={"x-switchyard-tenant": "initech"}),
        gw_open.http.post("/v1/chat/completions", json=chat(metadata={"tenant": "hooli"})))
    assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200]
    assert [r.headers["x-switchyard-tenant"] for r in (r1, r2, r3)] == ["default", "initech", "hooli"]
    r = await gw_open.http.post("/v1/chat/completions", json=chat(), headers={"x-switchyard-tenant": "no spaces"})
    assert_openai_error(r, 400)
