"""Open-loop load: one request every ``1 / rate`` seconds, whatever the answers take (interactive
traffic does not wait for earlier answers), each one recorded as a :class:`Sample`.

``send(i)`` makes request ``i`` and returns a :class:`Reply`; an exception is a user-visible
failure. Used by ``bench/chaos.py`` (Switchyard and LiteLLM side by side) and the health
integration tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Reply:
    """What one answered request reports: the target that answered, the first target tried,
    how many failovers, the cost in USD, the answer-check flags of the text the caller received."""

    target: str
    first: str | None = None
    failovers: int = 0
    cost_usd: float = 0.0
    flags: tuple[str, ...] = ()


@dataclass
class Sample:
    """One request: ``at`` seconds after the load started, ``latency_s``, and its reply or error."""

    at: float
    latency_s: float
    reply: Reply | None = None
    error: str | None = None


@dataclass
class Load:
    """A running load; ``samples`` grows as requests finish."""

    samples: list[Sample] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    sent: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started


async def _one(load: Load, send: Callable[[int], Awaitable[Reply]], i: int) -> None:
    at = load.elapsed()
    t = time.perf_counter()
    try:
        reply = await send(i)
        load.samples.append(Sample(at=at, latency_s=time.perf_counter() - t, reply=reply))
    except Exception as e:  # noqa: BLE001 - any exception is what the user would see: count it
        load.samples.append(Sample(at=at, latency_s=time.perf_counter() - t, error=f"{type(e).__name__}: {e}"[:300]))


async def run_load(send: Callable[[int], Awaitable[Reply]], rate: float, stop: asyncio.Event,
                   load: Load | None = None, max_requests: int | None = None) -> Load:
    """Send at ``rate`` per second until ``stop`` is set (or ``max_requests`` were sent), then wait
    for the requests in flight. Returns the :class:`Load`."""
    load = load or Load()
    tasks: set[asyncio.Task[None]] = set()
    period = 1.0 / rate
    while not stop.is_set() and (max_requests is None or load.sent < max_requests):
        task = asyncio.create_task(_one(load, send, load.sent))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        load.sent += 1
        next_at = load.started + load.sent * period
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
        except TimeoutError:
            pass
    if tasks:
        await asyncio.gather(*tasks)
    return load
