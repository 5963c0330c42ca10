"""Variants in a conversation: every turn's target gets its own variant before the whole history,
also after a failover moves the pin (the conversation worker of ``tests/conversations``, which
records every request body it sends)."""

from __future__ import annotations

from core.chat import ChatMessage, ChatRequest
from tests.conversations.conftest import conversation_worker, new_id
from tests.quality.conftest import config, fault

PRIMARY, SECOND = "openai/gpt-4o@us-east", "openai/gpt-4o@eu-west"
PROMPTS = {"system": "Default.", "variants": {"gpt-*": {"system": "GPT variant."},
                                              "anthropic": {"system": "Claude variant."}}}


def _system(body: dict) -> str:
    blocks = body.get("system") or ""
    return blocks if isinstance(blocks, str) else " ".join(b.get("text", "") for b in blocks)


async def test_each_turn_sends_its_targets_variant_with_the_history(temporal_env, db_url, sim) -> None:
    cid = new_id()
    async with conversation_worker(temporal_env.client, config(sim, support_reply={"prompts": PROMPTS}),
                                   db_url) as w:
        t1 = await w.conv.send(cid, ChatRequest(messages=[ChatMessage(role="system", content="Caller rules."),
                                                          ChatMessage(role="user", content="Order NW-1?")]))
        for t in (PRIMARY, SECOND):
            await fault(sim, t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
        t2 = await w.conv.send(cid, "It was due Monday.")
    assert t1.trace.attempts[-1].variant == "gpt-*" and t2.trace.attempts[-1].variant == "anthropic"
    gpt = [b for b in w.sent.to("/v1/chat/completions") if any("NW-1" in str(m.get("content")) for m in b["messages"])]
    assert [m["content"] for m in gpt[0]["messages"] if m["role"] == "system"] == ["GPT variant.", "Caller rules."]
    claude = w.sent.to("/v1/messages")[-1]
    assert _system(claude) == "Claude variant. Caller rules."  # the route's text once, then the stored one
    assert [m["role"] for m in claude["messages"]] == ["user", "assistant", "user"]  # the whole history
