"""Streaming pace (scenario key ``tokens_per_s``) and the first-token delay (``ttft_ms``), over real
HTTP on loopback: one token per chunk, chunks in order and no faster than the rate, the head before
the first token. Timings are lower bounds only (a loaded machine is slower, never faster)."""

from __future__ import annotations

import time

import httpx
import pytest

from simulator.server import RunningSimulator
from tests.simulator.conftest import ANTHROPIC, GEMINI, OPENAI, Control
from tests.simulator.wire_frames import PATHS, body_for, content, frames, post

TARGETS = {"openai": OPENAI, "anthropic": ANTHROPIC, "gemini": GEMINI}


async def timed_stream(sim: RunningSimulator, protocol: str) -> tuple[float, list[tuple[float, str]]]:
    """Seconds to the response head, and (seconds, text) of every content frame as it arrived."""
    start = time.monotonic()
    arrived: list[tuple[float, str]] = []
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=10) as http:
        async with http.stream("POST", PATHS[protocol], json=body_for(protocol)) as response:
            head = time.monotonic() - start
            buffer = b""
            async for chunk in response.aiter_raw():
                buffer += chunk
                *complete, buffer = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
                for block in complete:
                    text = content(protocol, frames(block + b"\n\n"))[0]
                    if text:
                        arrived.append((time.monotonic() - start, text))
    return head, arrived


@pytest.mark.parametrize("protocol", sorted(TARGETS))
async def test_one_token_per_chunk_at_the_rate(sim: RunningSimulator, control: Control, protocol: str) -> None:
    await control.apply(TARGETS[protocol], tokens_per_s=200, ttft_ms=1, output_tokens=40)
    _, arrived = await timed_stream(sim, protocol)
    pieces = [text for _, text in arrived]
    assert all(len(p) == 4 for p in pieces[:-1]) and 1 <= len(pieces[-1]) <= 4
    assert 35 <= len(pieces) <= 45
    times = [t for t, _ in arrived]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 0.8 * (len(pieces) - 1) / 200


async def test_without_a_rate_chunks_carry_several_tokens(http: httpx.AsyncClient, control: Control) -> None:
    await control.apply(OPENAI, output_tokens=40)
    found = frames((await post(http, "openai", body_for("openai"))).content)
    pieces = [c["delta"]["content"] for f in found if f.value for c in f.value["choices"]
              if c["delta"].get("content")]
    assert max(len(p) for p in pieces) > 8 and len(pieces) < 20


async def test_slow_first_token_comes_after_the_head(sim: RunningSimulator, control: Control) -> None:
    await control.apply(OPENAI, tokens_per_s=1000, ttft_ms=400, output_tokens=10)
    head, arrived = await timed_stream(sim, "openai")
    assert head < arrived[0][0] and arrived[0][0] >= 0.4
    assert arrived[-1][0] - arrived[0][0] < 5  # the rest at the normal pace, not another first-token delay


async def test_whole_answers_take_their_tokens_at_the_rate(http: httpx.AsyncClient, control: Control) -> None:
    await control.apply(OPENAI, tokens_per_s=100, ttft_ms=1, output_tokens=30)
    start = time.monotonic()
    response = await post(http, "openai", body_for("openai", stream=False), stream=False)
    assert response.json()["usage"]["completion_tokens"] > 20
    assert time.monotonic() - start >= 0.8 * 30 / 100


async def test_fault_lands_after_exactly_n_paced_chunks(sim: RunningSimulator, control: Control) -> None:
    await control.apply(ANTHROPIC, tokens_per_s=500, ttft_ms=1, output_tokens=40, stream_fault="cut",
                        stream_fault_after_tokens=7)
    _, arrived = await timed_stream(sim, "anthropic")
    assert len(arrived) == 7 and all(len(text) == 4 for _, text in arrived)
