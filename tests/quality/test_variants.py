"""Prompt variants on the real stack: each target of a failover gets its own variant, and the trace
and the outcome rows say which (real Temporal, real database, the simulator over loopback)."""

from __future__ import annotations

from core.chat import ChatMessage, ChatRequest
from core.request import RequestInput
from tests.harness import request_worker
from tests.quality.conftest import config, fault, outcome_rows, sent

PRIMARY, SECOND = "openai/gpt-4o@us-east", "openai/gpt-4o@eu-west"
CLAUDE, GEMINI = "anthropic/claude-3-5-sonnet@us-east", "gemini/gemini-2.0-flash@us-central"
ORDER = "NW-48213"
PROMPTS = {
    "system": "You answer for {company}. Be brief.",
    "variables": {"company": "Acme Pharmacy"},
    "variants": {
        "gpt-*": {"system": "# Role\nYou answer for {company}. Use short markdown bullets."},
        "anthropic": {"system": "<role>You answer for {company}.</role>",
                      "few_shot": [{"user": "Where is my refill?", "assistant": "Which order number, please?"}]},
    },
}


def _ask(metadata: dict[str, str] | None = None) -> RequestInput:
    """A support request; ``metadata``: the chat body's own ``metadata`` (fills template variables)."""
    return RequestInput(request=ChatRequest(messages=[ChatMessage(role="system", content="Caller rule: no emojis."),
                                                      ChatMessage(role="user", content="Where is order NW-48213?")],
                                            max_tokens=200, metadata=metadata), task_type="support_reply")


async def test_failover_sends_each_target_its_own_variant(temporal_env, db_url, engine, sim) -> None:
    for t in (PRIMARY, SECOND):
        await fault(sim, t, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    cfg = config(sim, support_reply={"prompts": PROMPTS})
    async with request_worker(temporal_env.client, cfg, db_url) as sy:
        res = await sy.submit(_ask(metadata={"company": "Globex Pharmacy"}))
    assert res.trace.target_used == CLAUDE
    assert [(a.target, a.variant) for a in res.trace.attempts] == [
        (PRIMARY, "gpt-*"), (PRIMARY, "gpt-*"), (SECOND, "gpt-*"), (SECOND, "gpt-*"), (CLAUDE, "anthropic")]
    primary = (await sent(sim, PRIMARY, ORDER))[0]
    assert primary["system"] == ("# Role\nYou answer for Globex Pharmacy. Use short markdown bullets.\n\n"
                                 "Caller rule: no emojis.")
    claude = (await sent(sim, CLAUDE, ORDER))[0]
    assert claude["system"].startswith("<role>You answer for Globex Pharmacy.</role>")
    assert "Caller rule: no emojis." in claude["system"]  # placement prefix keeps the caller's rules
    assert claude["messages"] == 3  # the few-shot pair, then the caller's message
    rows = await outcome_rows(engine, res.workflow_id)
    assert [(r.target, r.prompt_variant) for r in rows] == [(a.target, a.variant) for a in res.trace.attempts]


async def test_targets_without_a_variant_get_the_routes_default(temporal_env, db_url, engine, sim) -> None:
    for t in (PRIMARY, SECOND, CLAUDE):
        await fault(sim, t, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    cfg = config(sim, support_reply={"prompts": {**PROMPTS, "placement": "replace"}})
    async with request_worker(temporal_env.client, cfg, db_url) as sy:
        res = await sy.submit(_ask())
    assert res.trace.target_used == GEMINI and res.trace.attempts[-1].variant == "default"
    assert (await sent(sim, GEMINI, ORDER))[0]["system"] == "You answer for Acme Pharmacy. Be brief."
    rows = await outcome_rows(engine, res.workflow_id)
    assert rows[-1].prompt_variant == "default" and rows[-1].status_class == "ok"


async def test_route_without_prompts_sends_the_request_unchanged(temporal_env, db_url, engine, sim) -> None:
    async with request_worker(temporal_env.client, config(sim), db_url) as sy:
        res = await sy.submit(_ask())
    assert res.trace.attempts[-1].variant is None
    assert (await sent(sim, PRIMARY, ORDER))[0]["system"] == "Caller rule: no emojis."
    assert (await outcome_rows(engine, res.workflow_id))[0].prompt_variant is None
