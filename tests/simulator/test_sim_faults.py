"""Faults on the wire: scripted errors and their bodies and headers, the timeline on a compressed
clock, hangs, resets, stalls, rate limits, stream cuts, exact call counts."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import openai
import pytest

from simulator.server import RunningSimulator, run_simulator
from simulator.wire import ConnectionRegistry

OPENAI = "openai/gpt-4o@us-east"
OPENAI_EU = "openai/gpt-4o@eu-west"
ANTHROPIC = "anthropic/claude-sonnet-4@us-east"
GEMINI = "gemini/gemini-2.0-flash@us-central"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Summarise the quarterly revenue report"}]}
MESSAGES = {"model": "claude-sonnet-4", "max_tokens": 200,
            "messages": [{"role": "user", "content": "Summarise the quarterly revenue report"}]}
GENERATE = {"contents": [{"role": "user", "parts": [{"text": "Summarise the quarterly revenue report"}]}]}
GEMINI_PATH = "/v1beta/models/gemini-2.0-flash:generateContent"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CF_502 = {"error": {"code": 502, "message": "Bad gateway.", "param": None, "type": "cf_bad_gateway"}}


async def test_scripted_error_then_reset(http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, error_rate=1.0, errors=[{"status": 502, "body": CF_502}])
    failed = await http.post("/v1/chat/completions", json=CHAT)
    assert failed.status_code == 502 and failed.json() == CF_502
    await control.apply(OPENAI, reset=True)
    assert (await http.post("/v1/chat/completions", json=CHAT)).status_code == 200


async def test_openai_standard_503_with_rate_limit_headers(http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, error_rate=1.0, errors=[{"status": 503}])
    r = await http.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 503
    error = r.json()["error"]
    assert error["type"] == "server_error" and set(error) == {"message", "type", "param", "code"}
    assert r.headers["retry-after"] == "1" and r.headers["x-request-id"].startswith("req_")
    assert re.fullmatch(r"\d+(\.\d+)?(ms|s)|\d+m\d+s", r.headers["x-ratelimit-reset-requests"])


async def test_anthropic_529_overloaded(http: httpx.AsyncClient, control) -> None:
    await control.apply(ANTHROPIC, error_rate=1.0, errors=[{"status": 529}])
    r = await http.post("/v1/messages", json=MESSAGES)
    body = r.json()
    assert r.status_code == 529
    assert body["type"] == "error" and body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert body["request_id"] == r.headers["request-id"]
    assert r.headers["retry-after"].isdigit()
    assert RFC3339.match(r.headers["anthropic-ratelimit-requests-reset"])


async def test_gemini_503_and_step_headers_override(http: httpx.AsyncClient, control) -> None:
    await control.apply(GEMINI, error_rate=1.0, errors=[{"status": 503, "headers": {"retry-after": 7}}])
    r = await http.post(GEMINI_PATH, json=GENERATE)
    assert r.status_code == 503 and r.json()["error"]["status"] == "UNAVAILABLE"
    assert r.headers["retry-after"] == "7"


async def test_non_json_scripted_body(http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, error_rate=1.0, errors=[{"status": 429, "body": {"status": "come back later"}}])
    r = await http.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 429 and r.json() == {"status": "come back later"}


async def test_timeline_runs_on_the_compressed_clock(fast_scenario) -> None:
    scenario = fast_scenario(time_scale=50, timeline=[
        {"at": "10s", "target": OPENAI, "set": {"error_rate": 1.0, "errors": [{"status": 503}]}},
        {"at": "20s", "target": "*", "reset": True},
    ])
    async with run_simulator(scenario) as sim, httpx.AsyncClient(base_url=sim.base_url) as http:
        async def status_after(incident_s: float) -> int:
            while sim.world.clock.now() < incident_s:
                await asyncio.sleep(0.01)
            return (await http.post("/v1/chat/completions", json=CHAT)).status_code

        assert sim.world.clock.now() < 10
        assert await status_after(0) == 200
        assert await status_after(10.5) == 503
        assert await status_after(20.5) == 200
        # Restarting the incident at a given time jumps straight to that step.
        await http.post("/_sim/reset", json={"at": "12s", "time_scale": 1})
        assert (await http.post("/v1/chat/completions", json=CHAT)).status_code == 503
        state = (await http.get("/_sim/state")).json()
        assert state["time_scale"] == 1 and 12 <= state["incident_time_s"] < 14
        assert state["targets"][OPENAI]["error_rate"] == 1.0


async def test_hang_until_client_gives_up(sim: RunningSimulator, control) -> None:
    await control.apply(OPENAI, hang_share=1.0)
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/v1/chat/completions", json=CHAT)
    assert 0.45 < time.monotonic() - started < 2
    for _ in range(100):
        stats = await control.stats(OPENAI)
        if stats["disconnects"]:
            break
        await asyncio.sleep(0.01)
    assert stats["hangs"] == 1 and stats["disconnects"] == 1 and stats["by_status"] == {}


async def test_reset_share_gives_a_transport_error(sim: RunningSimulator, control,
                                                   http: httpx.AsyncClient) -> None:
    await control.apply(OPENAI, reset_share=1.0)
    with pytest.raises(httpx.TransportError):
        await http.post("/v1/chat/completions", json=CHAT)
    async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(**CHAT)
    assert (await control.stats(OPENAI))["resets"] == 2


async def test_reset_sends_not_a_single_byte(sim: RunningSimulator, control) -> None:
    await control.apply(OPENAI, reset_share=1.0)
    reader, writer = await asyncio.open_connection(sim.host, sim.port)
    body = json.dumps(CHAT).encode()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\n"
                 b"content-length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    try:
        received = await asyncio.wait_for(reader.read(1024), 2)
    except ConnectionResetError:
        received = b""
    writer.close()
    assert received == b""


async def test_reset_fallback_without_connection_registry(sim: RunningSimulator, control,
                                                          http: httpx.AsyncClient) -> None:
    sim.world.connections = ConnectionRegistry()  # knows no connection: the head-then-close fallback
    await control.apply(OPENAI, reset_share=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post("/v1/chat/completions", json=CHAT)


async def test_stall_then_normal_answer(sim: RunningSimulator, control, http: httpx.AsyncClient) -> None:
    await control.apply(OPENAI, stall_ms=400)
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=0.15) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await impatient.post("/v1/chat/completions", json=CHAT)
    started = time.monotonic()
    assert (await http.post("/v1/chat/completions", json=CHAT)).status_code == 200
    assert time.monotonic() - started >= 0.4


async def test_latency_factor_slows_answers(http: httpx.AsyncClient, control) -> None:
    await control.apply(OPENAI, latency_ms={"median": 100, "p99": 100}, latency_factor=3)
    started = time.monotonic()
    assert (await http.post("/v1/chat/completions", json=CHAT)).status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_rate_limit_rpm_per_provider(http: httpx.AsyncClient, control) -> None:
    for target in (OPENAI, ANTHROPIC, GEMINI):
        await control.apply(target, rate_limit_rpm=2)
    calls = [("/v1/chat/completions", CHAT), ("/v1/messages", MESSAGES), (GEMINI_PATH, GENERATE)]
    results = {}
    for path, body in calls:
        results[path] = [await http.post(path, json=body) for _ in range(3)]
        assert [r.status_code for r in results[path]] == [200, 200, 429]
    oa = results["/v1/chat/completions"][2]
    assert oa.json()["error"]["code"] == "rate_limit_exceeded" and oa.json()["error"]["type"] == "requests"
    assert "Please try again in" in oa.json()["error"]["message"]
    assert oa.headers["x-ratelimit-limit-requests"] == "2" and oa.headers["x-ratelimit-remaining-requests"] == "0"
    assert 55 <= int(oa.headers["retry-after"]) <= 60
    an = results["/v1/messages"][2]
    assert an.json()["error"]["type"] == "rate_limit_error" and an.headers["retry-after"].isdigit()
    assert an.headers["anthropic-ratelimit-requests-remaining"] == "0"
    ge = results[GEMINI_PATH][2].json()["error"]
    assert ge["status"] == "RESOURCE_EXHAUSTED"
    kinds = {d["@type"].rsplit(".", 1)[1]: d for d in ge["details"]}
    assert "PerMinute" in kinds["QuotaFailure"]["violations"][0]["quotaId"]
    assert re.fullmatch(r"\d+s", kinds["RetryInfo"]["retryDelay"])
    stats = await control.stats(OPENAI)
    assert stats["rate_limited"] == 1 and stats["by_status"] == {"200": 2, "429": 1}


async def test_stats_count_calls_exactly(http: httpx.AsyncClient, control) -> None:
    for _ in range(3):
        await http.post("/v1/chat/completions", json=CHAT)
    await control.apply(OPENAI, error_rate=1.0, errors=[{"status": 500}])
    for _ in range(2):
        await http.post("/v1/chat/completions", json=CHAT)
    await http.get("/v1/models")  # listings are not calls
    await http.post("/r/eu-west/v1/chat/completions", json=CHAT)
    assert await control.stats(OPENAI) == {"calls": 5, "by_status": {"200": 3, "500": 2}, "disconnects": 0,
                                           "resets": 0, "hangs": 0, "rate_limited": 0, "stream_cuts": 0,
                                           "corrupted": 0, "stream_faults": {
                                               "cut": 0, "stall": 0, "error_event": 0, "malformed": 0,
                                               "no_final": 0, "tool_cut": 0}}
    assert (await control.stats(OPENAI_EU))["calls"] == 1
    await http.post("/_sim/stats/reset")
    assert (await control.stats(OPENAI))["calls"] == 0


def _sse_data(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


async def test_stream_cut_stops_before_the_final_event(http: httpx.AsyncClient, control) -> None:
    for target in (OPENAI, ANTHROPIC, GEMINI):
        await control.apply(target, stream_cut_share=1.0, stream_cut_after_chunks=2)
    oa = await http.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert len(_sse_data(oa.text)) == 2 and "[DONE]" not in oa.text and '"finish_reason":"stop"' not in oa.text
    an = await http.post("/v1/messages", json={**MESSAGES, "stream": True})
    events = re.findall(r"^event: (\w+)", an.text, re.M)
    assert events == ["message_start", "content_block_start", "ping"]
    ge = await http.post("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", json=GENERATE)
    assert len(_sse_data(ge.text)) == 2 and "finishReason" not in ge.text
    assert (await control.stats(OPENAI))["stream_cuts"] == 1


async def test_gemini_stream_without_alt_is_a_json_array(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1beta/models/gemini-2.0-flash:streamGenerateContent", json=GENERATE)
    chunks = json.loads(r.text)
    assert r.headers["content-type"].startswith("application/json") and len(chunks) > 1
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP" and "[DONE]" not in r.text


async def test_model_list_keeps_working_during_an_outage(http: httpx.AsyncClient, control) -> None:
    await control.apply("*", error_rate=1.0, errors=[{"status": 503}])
    assert (await http.post("/v1/chat/completions", json=CHAT)).status_code == 503
    listed = await http.get("/r/us-east/v1/models")
    assert listed.status_code == 200 and listed.json()["data"][0]["id"] == "gpt-4o"
    assert (await http.get("/v1beta/models")).json()["models"][0]["name"] == "models/gemini-2.0-flash"
    anthropic_list = await http.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
    assert anthropic_list.json()["data"][0]["id"] == "claude-sonnet-4"


async def test_malformed_bodies_get_each_providers_400(http: httpx.AsyncClient) -> None:
    oa = await http.post("/v1/chat/completions", content=b"{not json")
    assert oa.status_code == 400 and oa.json()["error"]["type"] == "invalid_request_error"
    an = await http.post("/v1/messages", json={"model": "claude-sonnet-4", "messages": []})
    assert an.status_code == 400 and an.json()["error"] == {"type": "invalid_request_error",
                                                            "message": "max_tokens: Field required"}
    ge = await http.post(GEMINI_PATH, json={"contents": []})
    assert ge.status_code == 400 and ge.json()["error"]["status"] == "INVALID_ARGUMENT"
    no_json_word = await http.post("/v1/chat/completions", json={**CHAT, "response_format": {"type": "json_object"}})
    assert no_json_word.status_code == 400 and "must contain the word 'json'" in no_json_word.json()["error"]["message"]
    hot = await http.post("/v1/messages", json={**MESSAGES, "temperature": 1.5})
    assert hot.status_code == 400 and hot.json()["error"]["message"].startswith("temperature")
    assert (await http.post("/v1/chat/completions", json={**CHAT, "temperature": 1.5})).status_code == 200


async def test_region_prefix_routes_to_that_region(http: httpx.AsyncClient) -> None:
    eu = await http.post("/r/eu-west/v1/chat/completions", json=CHAT)
    assert eu.headers["x-switchyard-sim-target"] == OPENAI_EU
    assert (await http.post("/v1/chat/completions", json=CHAT)).headers["x-switchyard-sim-target"] == OPENAI
    nowhere = await http.post("/r/mars/v1/chat/completions", json=CHAT)
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "model_not_found"
    gem = await http.post("/r/us-central/v1beta/models/gemini-2.0-flash:generateContent", json=GENERATE)
    assert gem.headers["x-switchyard-sim-target"] == GEMINI


async def test_same_seed_same_draws_after_reset(http: httpx.AsyncClient, control) -> None:
    async def run() -> list[int]:
        await control.apply(OPENAI, error_rate=0.5)
        return [(await http.post("/v1/chat/completions", json=CHAT)).status_code for _ in range(16)]

    first = await run()
    await http.post("/_sim/reset")
    assert await run() == first and {200, 500} == set(first)


async def test_apply_rejects_bad_steps(http: httpx.AsyncClient) -> None:
    bad = await http.post("/_sim/apply", json={"target": OPENAI, "set": {"error_rate": 2}})
    assert bad.status_code == 422 and "set.error_rate" in bad.json()["error"]
    unknown = await http.post("/_sim/apply", json={"target": "openai/gpt-9@x", "reset": True})
    assert unknown.status_code == 404


async def test_require_key(fast_scenario) -> None:
    async with run_simulator(fast_scenario(), require_key=True) as sim, \
            httpx.AsyncClient(base_url=sim.base_url) as http:
        assert (await http.post("/v1/chat/completions", json=CHAT)).status_code == 401
        ok = await http.post("/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer anything"})
        assert ok.status_code == 200
        assert (await http.post(GEMINI_PATH, json=GENERATE)).status_code == 403
        assert (await http.post(GEMINI_PATH + "?key=k", json=GENERATE)).status_code == 200


async def test_shutdown_releases_hung_requests(fast_scenario) -> None:
    async with run_simulator(fast_scenario()) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url, timeout=10) as http:
            await http.post("/_sim/apply", json={"target": OPENAI, "set": {"hang_share": 1.0}})
            pending = asyncio.create_task(http.post("/v1/chat/completions", json=CHAT))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            await sim_exit(sim)
            with pytest.raises(httpx.TransportError):
                await pending
            assert time.monotonic() - started < 3


async def sim_exit(sim: RunningSimulator) -> None:
    """Ask the world to close, as leaving ``run_simulator`` does, without leaving the block yet."""
    sim.world.closing.set()
    await asyncio.sleep(0.05)
