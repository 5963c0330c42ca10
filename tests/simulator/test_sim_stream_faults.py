"""Stream faults on the wire (scenario key ``stream_fault``), per protocol, over real HTTP on loopback:
the bytes of each kind, where it lands (after exactly N tokens), the counters, and how the official
SDKs take it (an in-stream error event raises, a cut ends before the final event)."""

from __future__ import annotations

import asyncio
import json

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from simulator.scenario import ScenarioError, parse_scenario
from simulator.server import RunningSimulator
from tests.simulator.conftest import ANTHROPIC, FAST, GEMINI, OPENAI, Control
from tests.simulator.wire_frames import PATHS, QUESTION, body_for, content, frames, has_final, post

PROTOCOLS = ("openai", "anthropic", "gemini")
TARGETS = {"openai": OPENAI, "anthropic": ANTHROPIC, "gemini": GEMINI}
N = 5  # tokens before the fault: 20 characters


@pytest.fixture
async def steady(control: Control) -> Control:
    """Every target writes the same 60-token answer to the same request."""
    await control.apply("*", output_tokens=60)
    return control


async def healthy(http: httpx.AsyncClient, protocol: str, tool: bool = False) -> tuple[str, str]:
    """Text and tool arguments of an unfaulted stream for the standard request."""
    return content(protocol, frames((await post(http, protocol, body_for(protocol, tool=tool))).content))


async def faulted(http: httpx.AsyncClient, control: Control, protocol: str, kind: str, tool: bool = False,
                  after: int = N) -> list:
    await control.apply(TARGETS[protocol], stream_fault=kind, stream_fault_after_tokens=after)
    response = await post(http, protocol, body_for(protocol, tool=tool))
    assert response.status_code == 200
    assert (await control.stats(TARGETS[protocol]))["stream_faults"][kind] == 1
    return frames(response.content)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_cut_ends_cleanly_after_n_tokens(http: httpx.AsyncClient, steady: Control, protocol: str) -> None:
    whole, _ = await healthy(http, protocol)
    found = await faulted(http, steady, protocol, "cut")
    assert content(protocol, found)[0] == whole[: 4 * N]
    assert not has_final(protocol, found) and all(f.value is not None for f in found)
    assert all(f.event not in ("content_block_stop", "message_delta") for f in found)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_cut_after_zero_tokens_sends_no_content(http: httpx.AsyncClient, steady: Control,
                                                      protocol: str) -> None:
    found = await faulted(http, steady, protocol, "cut", after=0)
    assert content(protocol, found) == ("", "") and not has_final(protocol, found)


ERROR_SHAPES = {
    "openai": lambda f: f.event is None and f.value["error"]["type"] == "server_error" and f.value["error"]["message"],
    "anthropic": lambda f: f.event == "error" and f.value == {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    "gemini": lambda f: f.value["error"]["code"] == 503 and f.value["error"]["status"] == "UNAVAILABLE",
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_error_event_in_the_protocols_shape(http: httpx.AsyncClient, steady: Control, protocol: str) -> None:
    whole, _ = await healthy(http, protocol)
    found = await faulted(http, steady, protocol, "error_event")
    assert ERROR_SHAPES[protocol](found[-1])
    assert content(protocol, found[:-1])[0] == whole[: 4 * N] and not has_final(protocol, found)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_malformed_is_one_frame_that_is_not_json(http: httpx.AsyncClient, steady: Control,
                                                       protocol: str) -> None:
    whole, _ = await healthy(http, protocol)
    found = await faulted(http, steady, protocol, "malformed")
    broken = [i for i, f in enumerate(found) if f.value is None and f.data != "[DONE]"]
    assert len(broken) == 1 and found[broken[0]].data.startswith("{")
    assert content(protocol, found[: broken[0]])[0] == whole[: 4 * N]
    assert content(protocol, found)[0] == whole and has_final(protocol, found)  # the stream goes on


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_no_final_sends_everything_but_the_final_event(http: httpx.AsyncClient, steady: Control,
                                                             protocol: str) -> None:
    whole, _ = await healthy(http, protocol)
    found = await faulted(http, steady, protocol, "no_final")
    assert content(protocol, found)[0] == whole and not has_final(protocol, found)
    if protocol == "openai":
        assert all(c["finish_reason"] is None for f in found if f.value for c in f.value["choices"])
    if protocol == "anthropic":
        assert found[-1].event == "message_delta"


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
async def test_tool_cut_stops_mid_arguments(http: httpx.AsyncClient, steady: Control, protocol: str) -> None:
    found = await faulted(http, steady, protocol, "tool_cut", tool=True, after=3)
    text, args = content(protocol, found)
    assert text == "" and len(args) == 12 and not has_final(protocol, found)
    with pytest.raises(json.JSONDecodeError):
        json.loads(args)


async def test_gemini_tool_cut_breaks_off_inside_args(http: httpx.AsyncClient, steady: Control) -> None:
    _, args = await healthy(http, "gemini", tool=True)
    assert set(json.loads(args)) == {"city", "days"}
    await steady.apply(GEMINI, stream_fault="tool_cut", stream_fault_after_tokens=2)
    raw = (await post(http, "gemini", body_for("gemini", tool=True))).content.decode()
    compact = json.dumps(json.loads(args), separators=(",", ":"))
    assert raw.startswith("data: {") and raw.endswith('"args":' + compact[:8])


async def test_tool_cut_leaves_text_answers_alone(http: httpx.AsyncClient, steady: Control) -> None:
    whole, _ = await healthy(http, "openai")
    await steady.apply(OPENAI, stream_fault="tool_cut")
    found = frames((await post(http, "openai", body_for("openai"))).content)
    assert content("openai", found)[0] == whole and has_final("openai", found)
    assert (await steady.stats(OPENAI))["stream_faults"]["tool_cut"] == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stall_keeps_the_connection_open_until_the_client_leaves(sim: RunningSimulator, steady: Control,
                                                                       protocol: str) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        whole, _ = await healthy(http, protocol)
    await steady.apply(TARGETS[protocol], stream_fault="stall", stream_fault_after_tokens=N)
    received = b""
    timeout = httpx.Timeout(5.0, read=0.5)
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=timeout) as http:
        with pytest.raises(httpx.ReadTimeout):
            async with http.stream("POST", PATHS[protocol], json=body_for(protocol)) as response:
                async for chunk in response.aiter_raw():
                    received += chunk
    assert content(protocol, frames(received))[0] == whole[: 4 * N]
    stats = await steady.stats(TARGETS[protocol])
    assert stats["stream_faults"]["stall"] == 1
    for _ in range(100):  # the simulator notices the disconnect
        if (await steady.stats(TARGETS[protocol]))["disconnects"] == 1:
            break
        await asyncio.sleep(0.02)
    assert (await steady.stats(TARGETS[protocol]))["disconnects"] == 1


async def test_gemini_json_array_mode_error_and_no_final(http: httpx.AsyncClient, steady: Control) -> None:
    path = "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    await steady.apply(GEMINI, stream_fault="error_event", stream_fault_after_tokens=N)
    elements = json.loads((await http.post(path, json=body_for("gemini"))).content)
    assert elements[-1]["error"]["status"] == "UNAVAILABLE" and len(elements) > 1
    await steady.apply(GEMINI, stream_fault="no_final")
    elements = json.loads((await http.post(path, json=body_for("gemini"))).content)
    assert elements and all("finishReason" not in e["candidates"][0] for e in elements)


async def test_share_zero_and_whole_answers_are_untouched(http: httpx.AsyncClient, steady: Control) -> None:
    await steady.apply(OPENAI, stream_fault="cut", stream_fault_share=0.0)
    assert has_final("openai", frames((await post(http, "openai", body_for("openai"))).content))
    await steady.apply(OPENAI, stream_fault_share=None)  # back to the default: every stream
    whole = await post(http, "openai", body_for("openai", stream=False), stream=False)
    assert whole.json()["choices"][0]["finish_reason"] == "stop"
    assert (await steady.stats(OPENAI))["stream_faults"]["cut"] == 0
    assert not has_final("openai", frames((await post(http, "openai", body_for("openai"))).content))
    assert (await steady.stats(OPENAI))["stream_faults"]["cut"] == 1


async def test_share_is_drawn_per_stream(http: httpx.AsyncClient, steady: Control) -> None:
    await steady.apply(OPENAI, stream_fault="no_final", stream_fault_share=0.5)
    finals = [has_final("openai", frames((await post(http, "openai", body_for("openai"))).content))
              for _ in range(40)]
    faults = (await steady.stats(OPENAI))["stream_faults"]["no_final"]
    assert faults == finals.count(False) and 8 <= faults <= 32


def test_unknown_stream_fault_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"baseline\.stream_fault"):
        parse_scenario({**FAST, "baseline": {"stream_fault": "explode"}})


# ---- the official SDKs ----

async def test_openai_sdk_raises_on_the_error_event(sim: RunningSimulator, steady: Control) -> None:
    await steady.apply(OPENAI, stream_fault="error_event", stream_fault_after_tokens=N)
    seen = ""
    async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], stream=True)
        with pytest.raises(openai.APIError, match="server had an error"):
            async for chunk in stream:
                seen += chunk.choices[0].delta.content or ""
    assert len(seen) == 4 * N


async def test_openai_sdk_sees_a_cut_as_a_stream_without_finish(sim: RunningSimulator, steady: Control) -> None:
    await steady.apply(OPENAI, stream_fault="cut", stream_fault_after_tokens=N)
    async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], stream=True)
        chunks = [c async for c in stream]
    assert len("".join(c.choices[0].delta.content or "" for c in chunks)) == 4 * N
    assert all(c.choices[0].finish_reason is None for c in chunks)


async def test_anthropic_sdk_raises_overloaded(sim: RunningSimulator, steady: Control) -> None:
    await steady.apply(ANTHROPIC, stream_fault="error_event", stream_fault_after_tokens=N)
    async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
            async with client.messages.stream(model="claude-sonnet-4", max_tokens=500,
                                              messages=[{"role": "user", "content": QUESTION}]) as stream:
                await stream.get_final_message()


async def test_gemini_sdk_raises_unavailable(sim: RunningSimulator, steady: Control) -> None:
    await steady.apply(GEMINI, stream_fault="error_event", stream_fault_after_tokens=N)
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=sim.base_url))
    seen = ""
    with pytest.raises(genai_errors.ServerError, match="UNAVAILABLE"):
        async for chunk in await client.aio.models.generate_content_stream(model="gemini-2.0-flash",
                                                                           contents=QUESTION):
            seen += chunk.text or ""
    assert len(seen) == 4 * N


async def _openai_read(sim: RunningSimulator) -> None:
    async with openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="x", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], stream=True)
        _ = [c async for c in stream]


async def _anthropic_read(sim: RunningSimulator) -> None:
    async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0) as client:
        async with client.messages.stream(model="claude-sonnet-4", max_tokens=500,
                                          messages=[{"role": "user", "content": QUESTION}]) as stream:
            await stream.get_final_message()


async def _gemini_read(sim: RunningSimulator) -> None:
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=sim.base_url))
    _ = [c async for c in await client.aio.models.generate_content_stream(model="gemini-2.0-flash",
                                                                          contents=QUESTION)]


SDK_READ = {"openai": _openai_read, "anthropic": _anthropic_read, "gemini": _gemini_read}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_sdks_reject_the_malformed_frame(sim: RunningSimulator, steady: Control, protocol: str) -> None:
    await steady.apply(TARGETS[protocol], stream_fault="malformed", stream_fault_after_tokens=N)
    with pytest.raises((ValueError, genai_errors.APIError)):  # JSONDecodeError; Gemini: UnknownApiResponseError
        await SDK_READ[protocol](sim)
