"""Carrying out one request's :class:`~simulator.behaviour.Plan` on the wire, in real time.

Timeline of one exchange (all real seconds): ``stall_s`` with nothing sent; then by outcome:

- ``reset``: a response head announcing a body, then the connection closes (transport error).
- ``hang``: nothing until the client disconnects.
- ``error`` / ``rate_limited``: after ``ttft_s``, the status with the scripted body (or the provider's
  standard one) and headers (provider defaults, overridden by the step's ``headers``).
- ``ok``, not streaming: after ``latency_s``, the whole answer.
- ``ok``, streaming: the head at once, the first chunk after ``ttft_s``, the rest spread evenly up to
  ``latency_s``, or with ``tokens_per_s`` one token per chunk at that rate (:func:`stream_gaps`); a
  cut stream ends its body cleanly after ``cut_after_chunks`` chunks (pings not counted), always
  before the final event (finish chunk, ``message_stop``, the ``finishReason`` chunk); a stream fault
  changes the body as ``simulator.stream_faults`` says (a ``stall`` keeps the connection open until
  the client leaves).

Counters (``/_sim/stats``) are updated as the exchange goes: status when the head is sent, and
disconnects, resets, hangs, rate limits, stream cuts, stream faults (when the stream reaches them),
corrupted answers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from starlette.types import Receive, Scope, Send

from simulator.answer import Answer, Ask
from simulator.behaviour import Plan
from simulator.protocol import Event, Protocol, Reply
from simulator.ratelimit import RateDecision
from simulator.stream_faults import build_stream
from simulator.text import CHARS_PER_TOKEN
from simulator.wire import Channel
from simulator.world import World

TARGET_HEADER = "x-switchyard-sim-target"


@dataclass(frozen=True)
class ExchangeInput:
    """Everything one exchange needs, decided before the first byte."""

    world: World
    protocol: Protocol
    target: str
    ask: Ask
    plan: Plan
    rate: RateDecision
    reply: Reply
    answer: Answer | None
    sse: bool = True


def json_bytes(value: Any) -> bytes:
    """A response body: JSON for structured values, text as is."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


class SimExchange:
    """An ASGI response that plays one :class:`ExchangeInput` (returned by the route handlers)."""

    def __init__(self, spec: ExchangeInput) -> None:
        self.spec = spec
        self.stats = spec.world.stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with Channel(scope, receive, send, self.spec.world.closing, self.spec.world.connections) as channel:
            await self._run(channel)

    def _count(self, counter: str) -> None:
        self.stats.bump(self.spec.target, counter)

    async def _left(self, channel: Channel) -> None:
        """The client went away (count it) or the simulator is closing (drop the connection)."""
        if channel.disconnected:
            self._count("disconnects")
        else:
            await channel.reset()

    def _headers(self, status: int, content_type: str) -> dict[str, str]:
        s = self.spec
        return {"content-type": content_type, TARGET_HEADER: s.target,
                **s.protocol.headers(s.reply, s.rate, status)}

    async def _run(self, channel: Channel) -> None:
        plan = self.spec.plan
        if not await channel.sleep(plan.stall_s):
            return await self._left(channel)
        if plan.outcome == "reset":
            self._count("resets")
            return await channel.reset()
        if plan.outcome == "hang":
            self._count("hangs")
            if not await channel.wait_disconnect():
                return await channel.reset()  # shutting down: drop the connection
            return self._count("disconnects")
        if plan.outcome in ("error", "rate_limited"):
            return await self._error(channel)
        if self.spec.answer and self.spec.answer.corrupt_kind:
            self._count("corrupted")
        if self.spec.ask.stream:
            return await self._stream(channel)
        return await self._whole(channel)

    async def _send(self, channel: Channel, status: int, headers: dict[str, str], data: bytes) -> None:
        self.stats.status(self.spec.target, status)
        await channel.respond(status, headers, data)

    async def _error(self, channel: Channel) -> None:
        s = self.spec
        if not await channel.sleep(s.plan.ttft_s):
            return await self._left(channel)
        if s.plan.outcome == "rate_limited":
            self._count("rate_limited")
            status, body, extra = 429, s.protocol.error_body(429, s.ask.model, s.reply, s.rate), {}
            rate = s.rate
        else:
            spec = s.plan.error
            assert spec is not None
            status, extra = spec.status, spec.headers or {}
            rate = replace(s.rate, remaining=0 if status == 429 else s.rate.remaining, reset_s=1.0)
            body = spec.body if spec.body is not None else s.protocol.error_body(status, s.ask.model, s.reply, rate)
        content_type = "text/plain; charset=utf-8" if isinstance(body, str) else "application/json"
        headers = {"content-type": content_type, TARGET_HEADER: s.target,
                   **s.protocol.headers(s.reply, rate, status), **extra}
        await self._send(channel, status, headers, json_bytes(body))

    async def _whole(self, channel: Channel) -> None:
        s = self.spec
        assert s.answer is not None
        if not await channel.sleep(s.plan.latency_s):
            return await self._left(channel)
        body = s.protocol.render(s.ask, s.answer, s.reply)
        await self._send(channel, 200, self._headers(200, "application/json"), json_bytes(body))

    async def _stream(self, channel: Channel) -> None:
        s = self.spec
        assert s.answer is not None
        script = build_stream(s.protocol, s.ask, s.answer, s.reply, s.sse, s.plan)
        self.stats.status(s.target, 200)
        await channel.start(200, self._headers(200, s.protocol.stream_media_type(s.sse)))
        if not await channel.sleep(s.plan.ttft_s):
            return await self._left(channel)
        for i, (event, gap) in enumerate(zip(script.events, stream_gaps(script.events, s.plan), strict=True)):
            if gap and not await channel.sleep(gap):
                return await self._left(channel)
            if i == script.fault_at and script.fault:
                self.stats.stream_fault(s.target, script.fault)
            await channel.body(event.data)
        if script.fault and script.fault_at >= len(script.events):
            self.stats.stream_fault(s.target, script.fault)
        if script.chunk_cut:
            self._count("stream_cuts")
        if script.ending == "stall":
            if not await channel.wait_disconnect():
                return await channel.reset()  # shutting down: drop the connection
            return self._count("disconnects")
        await channel.body(b"", more=False)


def stream_gaps(events: list[Event], plan: Plan) -> list[float]:
    """Seconds to wait before each event, after the ``ttft_s`` wait that precedes them all.

    With ``plan.tokens_per_s``: each event carrying content after the first one waits its tokens at
    that rate (events without content go out at once). Otherwise: the content events after the first
    are spread evenly over ``latency_s - ttft_s``.
    """
    rate = plan.tokens_per_s
    gaps: list[float] = []
    started = False
    if rate:
        for event in events:
            gaps.append(math.ceil(event.chars / CHARS_PER_TOKEN) / rate if started and event.chars else 0.0)
            started = started or event.chars > 0
        return gaps
    gap = max(0.0, plan.latency_s - plan.ttft_s) / max(1, sum(1 for e in events if e.kind == "content"))
    for event in events:
        gaps.append(gap if event.kind == "content" and started else 0.0)
        started = started or event.kind == "content"
    return gaps
