"""Continuation (rescue) requests, through the official SDKs over real HTTP on loopback: a target asked
to continue a partial answer (Anthropic prefill, Gemini trailing model turn, OpenAI assistant turn plus
``core.rescue.CONTINUE_INSTRUCTION``) answers with the rest, and the rest glued to the partial is the
answer an uninterrupted request gets; prose does not depend on the target that writes it."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from core.rescue import CONTINUE_INSTRUCTION, glue_after_prefill, prefill_text
from simulator.continuation import anthropic_partial, gemini_partial, openai_partial
from simulator.server import RunningSimulator
from simulator.text import count_tokens
from tests.simulator.conftest import Control
from tests.simulator.wire_frames import QUESTION

CUTS = ("one-char", "mid-word", "after-space", "near-end")


def cut_at(whole: str, where: str) -> str:
    """A partial answer: its first character, a cut inside a word, one right after a space (trailing
    whitespace, which a prefill must drop), or all but the last few characters."""
    mid = whole.index(" ", 40) + 2
    return whole[:{"one-char": 1, "mid-word": mid, "after-space": mid - 1, "near-end": len(whole) - 3}[where]]
TOKENS = 60


@pytest.fixture
async def steady(control: Control) -> Control:
    """Every target writes the same 60-token answer to the same request."""
    await control.apply("*", output_tokens=TOKENS)
    return control


def _openai(sim: RunningSimulator, region: str = "us-east") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{sim.base_url}/r/{region}/v1", api_key="x", max_retries=0)


async def openai_answer(sim: RunningSimulator, messages: list[dict], region: str = "us-east",
                        stream: bool = False, **extra) -> tuple[str, int]:
    """Text and completion tokens of one OpenAI answer (streamed: joined deltas, usage chunk)."""
    async with _openai(sim, region) as client:
        if not stream:
            out = await client.chat.completions.create(model="gpt-4o", messages=messages, **extra)
            return out.choices[0].message.content or "", out.usage.completion_tokens
        chunks = [c async for c in await client.chat.completions.create(
            model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}, **extra)]
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[-1].usage.completion_tokens


async def anthropic_answer(sim: RunningSimulator, messages: list[dict], stream: bool = False) -> tuple[str, int]:
    async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="x", max_retries=0) as client:
        if stream:
            async with client.messages.stream(model="claude-sonnet-4", max_tokens=1000, messages=messages) as s:
                out = await s.get_final_message()
        else:
            out = await client.messages.create(model="claude-sonnet-4", max_tokens=1000, messages=messages)
    return "".join(b.text for b in out.content if b.type == "text"), out.usage.output_tokens


async def gemini_answer(sim: RunningSimulator, contents: list, stream: bool = False) -> tuple[str, int]:
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=sim.base_url))
    if stream:
        chunks = [c async for c in await client.aio.models.generate_content_stream(
            model="gemini-2.0-flash", contents=contents)]
        return "".join(c.text or "" for c in chunks), chunks[-1].usage_metadata.candidates_token_count
    out = await client.aio.models.generate_content(model="gemini-2.0-flash", contents=contents)
    return out.text or "", out.usage_metadata.candidates_token_count


USER = [{"role": "user", "content": QUESTION}]


def gemini_turns(partial: str | None) -> list[types.Content]:
    turns = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]
    if partial is not None:
        turns.append(types.Content(role="model", parts=[types.Part(text=prefill_text(partial))]))
    return turns


async def test_every_target_writes_the_same_answer(sim: RunningSimulator, steady: Control) -> None:
    texts = {(await openai_answer(sim, USER))[0], (await openai_answer(sim, USER, region="eu-west"))[0],
             (await anthropic_answer(sim, USER))[0], (await gemini_answer(sim, gemini_turns(None)))[0]}
    assert len(texts) == 1 and "replication" in texts.pop()
    other = await openai_answer(sim, [{"role": "user", "content": "Why do compilers inline functions?"}])
    assert "replication" not in other[0]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("cut", CUTS)
async def test_openai_continuation_restates_then_continues(sim: RunningSimulator, steady: Control, cut: str,
                                                           stream: bool) -> None:
    whole, _ = await openai_answer(sim, USER)
    partial = cut_at(whole, cut)
    rescue = [*USER, {"role": "assistant", "content": partial}, {"role": "user", "content": CONTINUE_INSTRUCTION}]
    more, tokens = await openai_answer(sim, rescue, region="eu-west", stream=stream)
    overlap = min(12, len(partial))
    assert more[:overlap] == partial[-12:]
    assert partial + more[overlap:] == whole
    assert tokens == count_tokens(more)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("cut", CUTS)
async def test_anthropic_prefill_gets_exactly_the_rest(sim: RunningSimulator, steady: Control, cut: str,
                                                       stream: bool) -> None:
    whole, _ = await openai_answer(sim, USER)  # another target's answer: the same text
    partial = cut_at(whole, cut)
    more, tokens = await anthropic_answer(sim, [*USER, {"role": "assistant", "content": prefill_text(partial)}],
                                          stream=stream)
    assert prefill_text(partial) + more == whole
    assert partial + glue_after_prefill(partial, more) == whole
    assert tokens == count_tokens(more)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("cut", CUTS)
async def test_gemini_model_turn_gets_exactly_the_rest(sim: RunningSimulator, steady: Control, cut: str,
                                                       stream: bool) -> None:
    whole, _ = await gemini_answer(sim, gemini_turns(None))
    partial = cut_at(whole, cut)
    more, tokens = await gemini_answer(sim, gemini_turns(partial), stream=stream)
    assert partial + glue_after_prefill(partial, more) == whole
    assert tokens == count_tokens(more)


async def test_overlap_setting_and_a_partial_that_is_not_a_prefix(sim: RunningSimulator, steady: Control) -> None:
    whole, _ = await openai_answer(sim, USER)
    partial = whole[:50]
    rescue = [*USER, {"role": "assistant", "content": partial}, {"role": "user", "content": CONTINUE_INSTRUCTION}]
    await steady.apply("openai/gpt-4o@eu-west", continuation_overlap_chars=0)
    assert partial + (await openai_answer(sim, rescue, region="eu-west"))[0] == whole
    foreign = "Bananas are yellow"
    more, _ = await anthropic_answer(sim, [*USER, {"role": "assistant", "content": foreign}])
    assert more.startswith(" ") and len(more) > 20 and not whole.startswith(foreign + more)


async def test_json_answer_continues_on_its_text(sim: RunningSimulator, steady: Control) -> None:
    ask = [{"role": "user", "content": "Summarise database replication as JSON"}]
    fmt = {"response_format": {"type": "json_object"}}
    whole, _ = await openai_answer(sim, ask, **fmt)
    partial = whole[:30]
    rescue = [*ask, {"role": "assistant", "content": partial}, {"role": "user", "content": CONTINUE_INSTRUCTION}]
    more, _ = await openai_answer(sim, rescue, region="eu-west", **fmt)
    glued = partial + more[12:]
    assert glued == whole and isinstance(json.loads(glued), dict)


async def test_the_continuation_counts_the_partial_as_prompt(http: httpx.AsyncClient, steady: Control) -> None:
    plain = (await http.post("/v1/messages", json={"model": "claude-sonnet-4", "max_tokens": 1000,
                                                   "messages": USER})).json()
    partial = plain["content"][0]["text"][:40]
    cont = (await http.post("/v1/messages", json={"model": "claude-sonnet-4", "max_tokens": 1000, "messages": [
        *USER, {"role": "assistant", "content": [{"type": "text", "text": partial}]}]})).json()
    assert cont["usage"]["input_tokens"] == plain["usage"]["input_tokens"] + count_tokens(partial) + 4
    assert cont["usage"]["output_tokens"] == count_tokens(cont["content"][0]["text"])


def test_recognition_per_protocol() -> None:
    assert anthropic_partial([*USER, {"role": "assistant", "content": "The key point  \n"}]) == "The key point"
    assert anthropic_partial([*USER, {"role": "assistant", "content": [{"type": "tool_use", "id": "t",
                                                                        "name": "f", "input": {}}]}]) is None
    assert anthropic_partial(USER) is None
    assert gemini_partial([{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [
        {"text": "Here is "}, {"text": "a "}]}]) == "Here is a"
    assert gemini_partial([{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}]) is None
    said = {"role": "assistant", "content": "Here is "}
    assert openai_partial([*USER, said, {"role": "user", "content": CONTINUE_INSTRUCTION}]) == "Here is "
    assert openai_partial([*USER, said, {"role": "user", "content": "Continue please"}]) is None
    assert openai_partial([*USER, {"role": "user", "content": CONTINUE_INSTRUCTION}]) is None


async def test_bundled_cut_scenario_is_rescued_seamlessly() -> None:
    """The ``stream-cut-mid-answer`` drill: during the incident the primary cuts every stream after 20
    tokens; the partial plus the next target's continuation is the whole answer."""
    from simulator.server import run_simulator
    from tests.simulator.wire_frames import body_for, content, frames, has_final, post

    async with run_simulator("stream-cut-mid-answer") as sim:
        async with httpx.AsyncClient(base_url=sim.base_url, timeout=10) as http:
            await http.post("/_sim/reset", json={"at": "40s"})
            fast = {"tokens_per_s": 5000, "ttft_ms": 1, "error_rate": 0}
            assert (await http.post("/_sim/apply", json={"target": "*", "set": fast})).status_code == 200
            whole = (await post(http, "openai", body_for("openai", stream=False), stream=False)
                     ).json()["choices"][0]["message"]["content"]  # us-east: whole answers are not cut
            cut = frames((await post(http, "openai", body_for("openai"))).content)
            partial = content("openai", cut)[0]
            assert len(partial) == 80 and not has_final("openai", cut)
            rescue = {"model": "claude-3-5-sonnet", "max_tokens": 2000, "messages": [
                {"role": "user", "content": QUESTION}, {"role": "assistant", "content": prefill_text(partial)}]}
            more = (await http.post("/v1/messages", json=rescue)).json()["content"][0]["text"]
            assert partial + glue_after_prefill(partial, more) == whole
            stats = (await http.get("/_sim/stats")).json()["targets"]["openai/gpt-4o@us-east"]
            assert stats["stream_faults"]["cut"] == 1


async def test_prose_ignores_system_prompts_and_json_mode_is_the_same_as_a_free_form_tool(
        http: httpx.AsyncClient, steady: Control) -> None:
    """Gateways add their own system prompts ("Respond in JSON.") and express JSON mode as a forced
    tool taking any object (Anthropic's ``json_tool_call``): the answer stays the same."""
    plain = (await http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": USER})).json()
    framed = (await http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [
        {"role": "system", "content": "You are a support agent."}, *USER]})).json()
    assert plain["choices"][0]["message"]["content"] == framed["choices"][0]["message"]["content"]
    json_mode = (await http.post("/v1/chat/completions", json={
        "model": "gpt-4o", "response_format": {"type": "json_object"},
        "messages": [{"role": "system", "content": "Respond in JSON."}, *USER]})).json()
    as_tool = (await http.post("/v1/messages", json={
        "model": "claude-sonnet-4", "max_tokens": 4096, "messages": USER,
        "tools": [{"name": "json_tool_call", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "json_tool_call"}})).json()
    assert json.loads(json_mode["choices"][0]["message"]["content"]) == as_tool["content"][0]["input"]
