"""Errors of ``/v1/messages`` in Anthropic's shape, with the statuses its SDK maps to its exception
classes; bad input never reaches Temporal (``started`` stays empty)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from anthropic import AsyncAnthropic

from tests.gateway.conftest import GatewayUnderTest
from tests.messages.conftest import MESSAGES, TOOLS
from worker.gateway.server import serve_app

HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}


def body(**overrides: Any) -> dict[str, Any]:
    return {"model": "claude-3-5-sonnet", "max_tokens": 100, "messages": MESSAGES, **overrides}


BAD = [  # (raw body, status, error type, words the message must contain)
    (b"{not json", 400, "invalid_request_error", "not valid JSON"),
    (b"", 400, "invalid_request_error", "empty"),
    (b'{"model": "claude-3-5-sonnet", "max_tokens": NaN, "messages": []}', 400, "invalid_request_error", "JSON"),
    (json.dumps({"model": "claude-3-5-sonnet", "messages": MESSAGES}).encode(), 400, "invalid_request_error",
     "max_tokens: Field required"),
    (json.dumps(body(max_tokens="100")).encode(), 400, "invalid_request_error", "max_tokens"),
    (json.dumps(body(temperature=1.5)).encode(), 400, "invalid_request_error", "temperature"),
    (json.dumps(body(messages=[{"role": "system", "content": "hi"}])).encode(), 400, "invalid_request_error",
     "messages[0].role"),
    (json.dumps(body(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}])
                ).encode(), 400, "invalid_request_error", "messages[0].content[0].source"),
    (json.dumps(body(messages=[{"role": "user", "content": [{"type": "tool_result"}]}])).encode(), 400,
     "invalid_request_error", "messages[0].content[0].tool_use_id"),
    (json.dumps(body(tools=[{"type": "web_search_20250305", "name": "web_search"}])).encode(), 400,
     "invalid_request_error", "tools[0].type"),
    (json.dumps(body(tools=TOOLS, tool_choice={"type": "tool"})).encode(), 400, "invalid_request_error",
     "tool_choice.name"),
    (json.dumps(body(model="no-such-model")).encode(), 404, "not_found_error", "no-such-model"),
]


@pytest.mark.parametrize(("raw", "status", "kind", "words"), BAD)
async def test_malformed_bodies_get_anthropic_errors(gw_open: GatewayUnderTest, raw: bytes, status: int, kind: str,
                                                     words: str) -> None:
    resp = await gw_open.http.post("/v1/messages", content=raw, headers=HEADERS)
    assert resp.status_code == status
    err = resp.json()
    assert err["type"] == "error" and err["error"]["type"] == kind and words in err["error"]["message"]
    assert gw_open.started == []


async def test_the_sdk_raises_its_own_exception_classes(gw_auth: GatewayUnderTest) -> None:
    created = await gw_auth.gw.keys.create("acme")
    async with serve_app(gw_auth.app, port=0) as url:
        async with AsyncAnthropic(base_url=url, api_key="sy-wrong-key-0000000000", max_retries=0) as wrong:
            with pytest.raises(anthropic.AuthenticationError) as denied:
                await wrong.messages.create(**body())
        async with AsyncAnthropic(base_url=url, api_key=created.key, max_retries=0) as client:
            with pytest.raises(anthropic.BadRequestError) as bad:
                await client.messages.create(**body(max_tokens=0))
            with pytest.raises(anthropic.NotFoundError):
                await client.messages.create(**body(model="claude-9"))
            with pytest.raises(anthropic.PermissionDeniedError):
                await client.messages.create(**body(), extra_headers={"x-switchyard-tenant": "other"})
            ok = await client.messages.create(**body())  # the gateway key in x-api-key, as the SDK sends it
            await gw_auth.fault("*", error_rate=1.0, errors=[{"status": 502, "share": 1.0}])
            with pytest.raises(anthropic.InternalServerError) as down:
                await client.messages.create(**body())
            with pytest.raises(anthropic.APIStatusError) as mid:
                async with client.messages.stream(**body()) as stream:
                    [e async for e in stream]
    assert denied.value.body["error"]["type"] == "authentication_error" and created.key not in str(denied.value)
    assert bad.value.body["error"]["type"] == "invalid_request_error" and "max_tokens" in bad.value.message
    assert ok.content[0].text and gw_auth.started[0].tenant == "acme"
    assert gw_auth.started[0].metadata["key_id"] == created.key_id
    assert down.value.status_code == 503 and down.value.body["error"]["type"] == "api_error"
    # a plain 503 when it failed within live.KEEPALIVE_S, else an ``event: error`` after the 200 headers
    assert mid.value.body["error"]["type"] == "api_error" and "every target failed" in mid.value.message


async def test_a_stream_that_cannot_be_rescued_ends_with_an_anthropic_error_event(gw_open: GatewayUnderTest) -> None:
    """The primary's stream is cut after some text and every other target is down: the text already
    sent stays, and the stream ends with ``event: error`` (Anthropic's body), no ``message_stop``."""
    await gw_open.fault("*", error_rate=1.0, errors=[{"status": 502, "share": 1.0}])
    await gw_open.fault("openai/gpt-4o@us-east", error_rate=0.0, stream_fault="cut", stream_fault_after_tokens=5)
    async with serve_app(gw_open.app, port=0) as url:
        async with AsyncAnthropic(base_url=url, api_key="unused", max_retries=0) as client:
            seen: list[str] = []
            with pytest.raises(anthropic.APIStatusError) as caught:
                async with client.messages.stream(**body()) as stream:
                    async for event in stream:
                        seen.append(event.type)
    assert seen[0] == "message_start" and "text" in seen and "message_stop" not in seen
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "api_error"
