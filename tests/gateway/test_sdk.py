"""The official ``openai`` SDK, unchanged, against the gateway over loopback (uvicorn on port 0).

Sync and async clients, streaming and not, a primary outage injected mid-run through the
simulator's ``/_sim/apply`` (every call still succeeds; only ``base_url`` points at Switchyard),
and the SDK's own exception classes for the gateway's errors. SDK retries are off
(``max_retries=0``), so every success is the gateway's own failover, not a client retry. The sync
client blocks, so it runs in a thread while the gateway serves from the test's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.gateway.conftest import MESSAGES, PRIMARY, SECOND, GatewayUnderTest
from worker.gateway.server import serve_app


@pytest.fixture
async def base_url(gw_open: GatewayUnderTest) -> AsyncIterator[str]:
    async with serve_app(gw_open.app, port=0) as url:
        yield url + "/v1"


def sync_calls(base_url: str) -> tuple[str, str, list[str]]:
    client = OpenAI(base_url=base_url, api_key="sk-unused-with-auth-off", max_retries=0)
    try:
        done = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
        stream = client.chat.completions.create(model="switchyard/auto", messages=MESSAGES, stream=True)
        pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
        models = [m.id for m in client.models.list()]
    finally:
        client.close()
    return done.choices[0].message.content or "", "".join(pieces), models


async def test_sync_client_plain_and_streaming(base_url: str) -> None:
    text, streamed, models = await asyncio.to_thread(sync_calls, base_url)
    assert text and streamed
    assert {"switchyard/auto", "support_reply", "gpt-4o"} <= set(models)


async def test_async_client_plain_and_streaming_with_usage(base_url: str, gw_open: GatewayUnderTest) -> None:
    async with AsyncOpenAI(base_url=base_url, api_key="sk-unused", max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(model="support_reply", messages=MESSAGES)
        done = raw.parse()
        assert done.object == "chat.completion" and done.model == "gpt-4o" and done.choices[0].message.content
        assert raw.headers["x-switchyard-target"] == PRIMARY and done._request_id == raw.headers["x-request-id"]
        stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True,
                                                      stream_options={"include_usage": True})
        chunks = [c async for c in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(gw_open.started) == 2


async def test_primary_outage_mid_run_every_call_succeeds_without_client_changes(
        base_url: str, gw_open: GatewayUnderTest) -> None:
    served: list[str] = []
    async with AsyncOpenAI(base_url=base_url, api_key="sk-unused", max_retries=0) as client:
        async def one(i: int) -> None:
            raw = await client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=[*MESSAGES[:1], {"role": "user", "content": f"Order NW-{i} status?"}])
            assert raw.parse().choices[0].message.content
            served.append(raw.headers["x-switchyard-target"])

        async def streamed(i: int) -> None:
            stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
            assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

        await asyncio.gather(*(one(i) for i in range(4)))
        await gw_open.fault(PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])  # outage starts
        await asyncio.gather(*(one(i) for i in range(4, 12)), streamed(12), streamed(13))
        await gw_open.fault(PRIMARY, reset=True)  # and ends
        await asyncio.gather(*(one(i) for i in range(14, 16)))
    assert served[:4] == [PRIMARY] * 4
    assert served[4:12] == [SECOND] * 8  # the same model in the next region
    assert len(served) == 14 and len(gw_open.started) == 16  # every call answered, streams included


async def test_sdk_raises_its_usual_exception_classes(base_url: str, gw_open: GatewayUnderTest) -> None:
    async with AsyncOpenAI(base_url=base_url, api_key="sk-unused", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError) as nf:
            await client.chat.completions.create(model="gpt-7", messages=MESSAGES)
        assert nf.value.code == "model_not_found"
        with pytest.raises(openai.BadRequestError) as bad:
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=9)
        assert bad.value.param == "temperature"
        await gw_open.fault("*", error_rate=1.0, errors=[{"status": 502, "share": 1.0}])
        with pytest.raises(openai.InternalServerError) as down:
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert down.value.status_code == 503 and down.value.code == "all_targets_failed"
    assert int(down.value.response.headers["retry-after"]) >= 1


async def test_sdk_with_gateway_keys(temporal_env, db_url, sim) -> None:
    from tests.gateway.conftest import gateway_under_test
    async with gateway_under_test(temporal_env.client, sim, db_url, auth="required") as gut, \
            serve_app(gut.app, port=0) as url:
        created = await gut.gw.keys.create("acme")
        async with AsyncOpenAI(base_url=url + "/v1", api_key=created.key, max_retries=0) as good, \
                AsyncOpenAI(base_url=url + "/v1", api_key="sk-live-wrong", max_retries=0) as bad:
            raw = await good.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
            assert raw.headers["x-switchyard-tenant"] == "acme"
            with pytest.raises(openai.AuthenticationError) as e:
                await bad.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert e.value.code == "invalid_api_key"


async def test_n_choices_come_back_from_an_openai_protocol_target(base_url: str) -> None:
    async with AsyncOpenAI(base_url=base_url, api_key="sk-unused", max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, n=2)
    done = raw.parse()
    assert raw.headers["x-switchyard-target"] == PRIMARY
    assert [c.index for c in done.choices] == [0, 1] and all(c.message.content for c in done.choices)
