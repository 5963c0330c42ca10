"""Output normalisation on the real stack: each normaliser on an answer the simulator wraps the way
chatty models do, the raw answer kept for the audit, and the JSON repair bounded to one call."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from activities.storage.payloads import PayloadStore
from core.chat import ChatMessage, ChatRequest, ChatResponse
from core.normalize import REPAIR_PREFIX
from core.request import RequestInput
from simulator.corrupt import PREAMBLE, SIGNOFF
from tests.harness import request_worker
from tests.quality.conftest import config, fault, outcome_rows, sent
from worker.cli import app
from worker.submit import RequestFailed

PRIMARY = "openai/gpt-4o@us-east"
SCHEMA = {"type": "object", "required": ["order_id", "status"], "additionalProperties": False,
          "properties": {"order_id": {"type": "string"}, "status": {"type": "string"}}}
PROSE = {"strip_preamble": True, "strip_signoff": True}


def _prose() -> RequestInput:
    return RequestInput(request=ChatRequest(messages=[ChatMessage(role="user", content="Where is refill NW-1?")],
                                            max_tokens=200), task_type="support_reply")


def _json(schema: dict = SCHEMA) -> RequestInput:
    fmt = {"type": "json_schema", "json_schema": {"name": "order", "schema": schema, "strict": True}}
    return RequestInput(request=ChatRequest(messages=[ChatMessage(role="user", content="Extract order JX-7 status")],
                                            max_tokens=300, response_format=fmt), task_type="json_extraction")


async def _raw(engine, ref: str) -> ChatResponse:
    return ChatResponse.model_validate_json(await PayloadStore(engine).get(ref))


@pytest.mark.parametrize("kind, step, raw_part", [("preamble", "strip_preamble", PREAMBLE.strip()),
                                                  ("signoff", "strip_signoff", SIGNOFF.strip())])
async def test_preamble_and_signoff_are_stripped_and_the_raw_kept(temporal_env, db_url, engine, sim, kind, step,
                                                                  raw_part) -> None:
    await fault(sim, PRIMARY, corrupt_share=1.0, corrupt_kind=kind)
    async with request_worker(temporal_env.client, config(sim, support_reply={"normalize": PROSE}), db_url) as sy:
        res = await sy.submit(_prose())
    text = res.response.text()
    assert res.trace.target_used == PRIMARY and raw_part not in text and text.strip()
    norm = res.trace.normalization
    assert [c.step for c in norm.changes] == [step] and norm.raw_chars == len(text) + len(raw_part) + 2
    raw = await _raw(engine, norm.raw_ref)
    assert raw_part in raw.text() and raw.text().replace(raw_part, "").strip() == text
    assert (await outcome_rows(engine, res.workflow_id))[-1].normalized == step


async def test_max_chars_and_markdown(temporal_env, db_url, engine, sim) -> None:
    route = {"normalize": {"max_chars": 60, "markdown": "plain"}}
    async with request_worker(temporal_env.client, config(sim, support_reply=route), db_url) as sy:
        res = await sy.submit(_prose())
    text = res.response.text()
    assert 30 <= len(text) <= 60
    change = res.trace.normalization.changes[-1]
    assert change.step == "max_chars" and change.chars_after == len(text) and change.chars_before > 60
    assert (await _raw(engine, res.trace.normalization.raw_ref)).text().startswith(text)


async def test_route_without_normalize_returns_the_raw_answer(temporal_env, db_url, engine, sim) -> None:
    await fault(sim, PRIMARY, corrupt_share=1.0, corrupt_kind="preamble")
    async with request_worker(temporal_env.client, config(sim), db_url) as sy:
        res = await sy.submit(_prose())
    assert res.response.text().startswith(PREAMBLE) and res.trace.normalization is None


@pytest.mark.parametrize("kind", ["json_fence", "preamble"])
async def test_wrapped_json_is_unwrapped_instead_of_failing_over(temporal_env, db_url, engine, sim, kind) -> None:
    await fault(sim, PRIMARY, corrupt_share=1.0, corrupt_kind=kind)
    route = {"normalize": {"unwrap_json_fence": True}}
    async with request_worker(temporal_env.client, config(sim, json_extraction=route), db_url) as sy:
        res = await sy.submit(_json())
    assert res.trace.target_used == PRIMARY and res.trace.failovers == 0
    assert set(json.loads(res.response.text())) == {"order_id", "status"}
    assert [c.step for c in res.trace.normalization.changes] == ["unwrap_json_fence"]
    assert not (await _raw(engine, res.trace.normalization.raw_ref)).text().startswith("{")


async def test_invalid_json_is_repaired_once_on_the_same_target(temporal_env, db_url, engine, sim) -> None:
    await fault(sim, PRIMARY, corrupt_share=1.0, corrupt_kind="invalid_json")
    route = {"normalize": {"repair": True}}
    async with request_worker(temporal_env.client, config(sim, json_extraction=route), db_url) as sy:
        res = await sy.submit(_json())
    assert res.trace.target_used == PRIMARY and res.trace.failovers == 0
    assert set(json.loads(res.response.text())) == {"order_id", "status"}
    repair = res.trace.normalization.repair
    assert repair.ok and repair.target == PRIMARY and repair.errors[0].startswith("not valid JSON")
    assert repair.cost_usd > 0 and repair.latency_ms > 0 and res.trace.cost_usd > repair.cost_usd
    asked = [r for r in await sent(sim, PRIMARY, "") if "JX-7" in r["last_user"] or REPAIR_PREFIX in r["last_user"]]
    assert [r["last_user"].startswith(REPAIR_PREFIX) for r in asked] == [False, True]
    row = (await outcome_rows(engine, res.workflow_id))[-1]
    assert row.normalized == "repair" and row.status_class == "ok"
    assert (await _raw(engine, res.trace.normalization.raw_ref)).text().endswith(', "')  # the broken original


async def test_json_repair_is_bounded_to_one_call_per_request(temporal_env, db_url, engine, sim) -> None:
    # the route's schema needs a field the request's schema (which the targets follow) never has:
    # every answer is invalid, the first target repairs once, and no other target repairs again
    route_schema = {"type": "object", "required": ["sku"]}
    route = {"normalize": {"repair": True, "json_schema": route_schema}}
    async with request_worker(temporal_env.client, config(sim, json_extraction=route), db_url) as sy:
        with pytest.raises(RequestFailed) as e:
            await sy.submit(_json())
    failure = e.value.failure
    attempts = failure.trace.attempts
    assert failure.status == 503 and len(attempts) == len(failure.trace.plan) == 5
    assert {a.error_class for a in attempts} == {"MalformedResponse"}
    assert "after one repair call" in attempts[0].message
    assert '$: "sku" is a required property' in attempts[0].message
    assert all("repair" not in a.message for a in attempts[1:])
    got = {t: await sent(sim, t, "") for t in failure.trace.plan}
    repairs = [t for t, reqs in got.items() for r in reqs if r["last_user"].startswith(REPAIR_PREFIX)]
    assert repairs == [attempts[0].target]
    # one JSON request per target and one repair on the first: 6 calls for 5 targets, never more
    ours = [sum("JX-7" in r["last_user"] or r["last_user"].startswith(REPAIR_PREFIX) for r in got[t])
            for t in failure.trace.plan]
    assert ours == [2, 1, 1, 1, 1]
    rows = await outcome_rows(engine, e.value.workflow_id)
    assert [r.normalized for r in rows] == ["repair", None, None, None, None]


async def test_streamed_answers_are_left_as_streamed_and_say_so(temporal_env, db_url, engine, sim) -> None:
    await fault(sim, PRIMARY, corrupt_share=1.0, corrupt_kind="preamble")
    inp = _prose()
    inp.request.stream = True
    async with request_worker(temporal_env.client, config(sim, support_reply={"normalize": PROSE}), db_url) as sy:
        res = await sy.submit(inp)
    norm = res.trace.normalization
    assert norm.skipped.startswith("streamed") and norm.changes == [] and norm.raw_ref is None
    assert res.response.text().startswith(PREAMBLE)  # what the client already received


async def test_answer_cli_shows_variant_raw_and_normalised(temporal_env, db_url, engine, sim) -> None:
    await fault(sim, PRIMARY, corrupt_share=1.0, corrupt_kind="preamble")
    route = {"normalize": PROSE, "prompts": {"variants": {"gpt-*": {"system": "GPT rules."}}}}
    async with request_worker(temporal_env.client, config(sim, support_reply=route), db_url) as sy:
        res = await sy.submit(_prose())
    env = {"DATABASE_URL": db_url, "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host}
    out = await asyncio.to_thread(CliRunner().invoke, app, ["answer", res.workflow_id], env=env)
    assert out.exit_code == 0, out.output
    assert f"{PRIMARY}: ok, variant gpt-*" in out.output and "strip_preamble: removed" in out.output
    raw, delivered = out.output.split("raw", 1)[1].split("delivered", 1)
    assert PREAMBLE.strip() in raw and PREAMBLE.strip() not in delivered
    assert res.response.text() in delivered
