"""The gateway maps ``x-switchyard-conversation-id`` to a conversation: each request sends only the
new message, the workflow supplies the history and the pin (in process through ASGITransport,
and with the official OpenAI SDK)."""

from __future__ import annotations

import openai

from activities.storage.conversations import ConversationStore
from tests.conversations.conftest import new_id
from tests.conversations.test_failover import CLAUDE
from tests.gateway.conftest import PRIMARY, SECOND, gateway_under_test

HEADER = "x-switchyard-conversation-id"


async def test_conversation_header_runs_turns_with_only_the_new_message(temporal_env, db_url, engine, sim) -> None:
    cid = new_id()
    first = {"model": "gpt-4o", "max_tokens": 80, "messages": [
        {"role": "system", "content": "You are a pharmacy support agent."},
        {"role": "user", "content": "Where is my refill order NW-48213?"}]}
    async with gateway_under_test(temporal_env.client, sim, db_url) as gut:
        r1 = await gut.http.post("/v1/chat/completions", json=first, headers={HEADER: cid})
        sdk = openai.AsyncOpenAI(api_key="unused", base_url="http://gateway/v1", http_client=gut.http, max_retries=0)
        raw = await sdk.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "It was due on Monday."}],
            extra_headers={HEADER: cid, "Idempotency-Key": f"{cid}-t2"})
        again = await gut.http.post("/v1/chat/completions", headers={HEADER: cid, "Idempotency-Key": f"{cid}-t2"},
                                    json={"model": "gpt-4o", "messages": [
                                        {"role": "user", "content": "It was due on Monday."}]})
        await gut.fault(PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
        await gut.fault(SECOND, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
        r3 = await gut.http.post("/v1/chat/completions", headers={HEADER: cid}, json={
            "model": "gpt-4o", "messages": [{"role": "user", "content": "Please expedite it."}]})
        bad = await gut.http.post("/v1/chat/completions", headers={HEADER: cid}, json={
            "model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "x"}]})
    stored = await ConversationStore(engine).transcript(f"conv-default-{cid}")
    assert r1.status_code == 200 and r1.headers["x-switchyard-turn"] == "1"
    assert r1.headers["x-switchyard-pinned-target"] == PRIMARY and r1.headers["x-switchyard-workflow-id"] == \
        f"conv-default-{cid}"
    second = raw.parse()
    assert raw.headers["x-switchyard-turn"] == "2" and second.choices[0].message.content
    # a retried request with the same Idempotency-Key attaches to the same turn
    assert again.status_code == 200 and again.headers["x-switchyard-turn"] == "2"
    assert again.json()["id"] == second.id
    assert r3.status_code == 200 and r3.headers["x-switchyard-target"] == CLAUDE
    assert r3.headers["x-switchyard-pin-moved"] == f"failover: {PRIMARY} -> {CLAUDE}"
    assert bad.status_code == 400 and "new messages" in bad.json()["error"]["message"]
    assert [(e.turn, e.role) for e in stored] == [(1, "system"), (1, "user"), (1, "assistant"), (2, "user"),
                                                  (2, "assistant"), (3, "user"), (3, "assistant")]
    assert stored[4].message.content == second.choices[0].message.content
