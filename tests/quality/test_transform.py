"""Prompt transformation on the real stack: the small model rewrites a route's prompt for a target
family once, in the background; the rewrite is stored with its cost and latency, reused without
another model call, and (by default) sent only once reviewed and pinned with ``switchyard prompts``."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from activities.storage.prompt_rewrites import RewriteRow, RewriteStore
from core.chat import ChatMessage, ChatRequest
from core.request import RequestInput
from tests.harness import request_worker
from tests.quality.conftest import calls, config, fault, outcome_rows, sent
from worker.cli import app

CLAUDE, SMALL = "anthropic/claude-3-5-sonnet@us-east", "gemini/gemini-2.0-flash@us-central"
TEMPLATE = "<role>You answer refill questions for {company}.</role>"


def _route(use: str) -> dict:
    return {"chain": ["anthropic/claude-3-5-sonnet", "openai/gpt-4o"],
            "prompts": {"system": "You answer refill questions for {company}.", "variables": {"company": "Acme"},
                        "variants": {"claude-*": {"system": TEMPLATE}},
                        "transform": {"by": SMALL, "use": use, "only": ["claude-*"]}}}


def _ask(i: int) -> RequestInput:
    return RequestInput(request=ChatRequest(messages=[ChatMessage(role="user", content=f"Refill order RX-{i} status?")],
                                            max_tokens=150), task_type="support_reply")


async def _written(store: RewriteStore, timeout_s: float = 15.0) -> RewriteRow:
    """The route's one rewrite once the background call has finished writing it."""
    for _ in range(int(timeout_s / 0.1)):
        rows = await store.list("support_reply")
        if rows and rows[0].status != "pending":
            return rows[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no finished rewrite after {timeout_s} s: {rows}")


async def test_rewrite_written_once_in_background_then_reused(temporal_env, db_url, engine, sim) -> None:
    store = RewriteStore(engine)
    async with request_worker(temporal_env.client, config(sim, support_reply=_route("draft")), db_url) as sy:
        first = await sy.submit(_ask(1))
        # the first request went on with the original variant: it never waited for the small model
        assert first.trace.attempts[-1].rewrite is None and first.trace.attempts[-1].variant == "claude-*"
        assert (await sent(sim, CLAUDE, "RX-1"))[0]["system"] == "<role>You answer refill questions for Acme.</role>"
        row = await _written(store)
        assert row.status == "draft" and row.family == "anthropic/claude-3-5-sonnet" and row.by_target == SMALL
        assert row.source_text == TEMPLATE and row.text
        assert row.cost_usd > 0 and row.latency_ms > 0 and row.prompt_tokens > 0 and row.completion_tokens > 0
        small_calls = (await calls(sim))[SMALL]
        later = [await sy.submit(_ask(i)) for i in range(2, 6)]
    for i, res in enumerate(later, start=2):
        assert res.trace.target_used == CLAUDE and res.trace.attempts[-1].rewrite == row.id
        assert (await sent(sim, CLAUDE, f"RX-{i}"))[0]["system"] == row.text.replace("{company}", "Acme")
        assert (await outcome_rows(engine, res.workflow_id))[-1].prompt_rewrite == row.id
    assert (await calls(sim))[SMALL] == small_calls  # reused: no more calls of the small model
    assert len(await store.list("support_reply")) == 1
    assert (await sent(sim, "openai/gpt-4o@us-east", "RX")) == []  # never needed a failover


async def test_only_pinned_rewrites_are_sent_by_default(temporal_env, db_url, engine, sim) -> None:
    store = RewriteStore(engine)
    env = {"DATABASE_URL": db_url}
    async with request_worker(temporal_env.client, config(sim, support_reply=_route("pinned")), db_url) as sy:
        await sy.submit(_ask(1))
        row = await _written(store)
        draft = await sy.submit(_ask(2))
        assert draft.trace.attempts[-1].rewrite is None  # a draft waits for review
        listed = await asyncio.to_thread(CliRunner().invoke, app, ["prompts", "list"], env=env)
        assert listed.exit_code == 0 and row.id in listed.output and "draft" in listed.output
        shown = await asyncio.to_thread(CliRunner().invoke, app, ["prompts", "show", row.id[:6]], env=env)
        assert shown.exit_code == 0 and TEMPLATE in shown.output and row.text.splitlines()[0] in shown.output
        pinned = await asyncio.to_thread(CliRunner().invoke, app, ["prompts", "pin", row.id[:6]], env=env)
        assert pinned.exit_code == 0, pinned.output
        after = await sy.submit(_ask(3))
        assert after.trace.attempts[-1].rewrite == row.id
        rejected = await asyncio.to_thread(CliRunner().invoke, app, ["prompts", "reject", row.id], env=env)
        assert rejected.exit_code == 0
        small_calls = (await calls(sim))[SMALL]
        gone = await sy.submit(_ask(4))
    assert gone.trace.attempts[-1].rewrite is None  # rejected: the original again
    assert (await sent(sim, CLAUDE, "RX-4"))[0]["system"] == "<role>You answer refill questions for Acme.</role>"
    assert (await calls(sim))[SMALL] == small_calls  # and not rewritten again
    assert (await store.by_id(row.id)).status == "rejected"


async def test_small_model_down_records_a_failed_rewrite_and_requests_go_on(temporal_env, db_url, engine,
                                                                              sim) -> None:
    await fault(sim, SMALL, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    store = RewriteStore(engine)
    async with request_worker(temporal_env.client, config(sim, support_reply=_route("draft")), db_url) as sy:
        first = await sy.submit(_ask(1))
        row = await _written(store)
        small_calls = (await calls(sim))[SMALL]
        again = [await sy.submit(_ask(i)) for i in (2, 3)]
    assert first.trace.target_used == CLAUDE and all(r.trace.target_used == CLAUDE for r in again)
    assert row.status == "failed" and row.text is None
    assert row.error.startswith("ServerError:"), row.error
    assert row.latency_ms > 0 and row.cost_usd == 0
    assert all(r.trace.attempts[-1].rewrite is None for r in again)
    assert (await calls(sim))[SMALL] == small_calls  # a failed rewrite waits RETRY_FAILED_S before another try
