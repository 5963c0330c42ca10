"""Token-bucket rate-limit math (pure), shared by the database and Redis stores.

A bucket holds up to ``capacity`` units (requests or tokens) and refills at ``rate_per_s``; a
limit of N per minute is ``capacity=N, rate_per_s=N/60`` (the classic token bucket: bursts up to
one minute's allowance, a steady N per minute after). A request takes ``cost`` units from every
bucket that applies to it (key and tenant, requests and tokens) or from none: all-or-nothing, so
a request refused by one bucket does not spend another's allowance. After the call, the token
buckets are **settled** with the difference between the real usage and the estimate taken before
(:func:`charge`, which may leave a bucket negative: a debt the next requests wait out). This is
how OpenAI counts tokens per minute: an estimate from the prompt and ``max_tokens`` up front
(https://platform.openai.com/docs/guides/rate-limits).

The same arithmetic runs in the Redis Lua script (``activities/admission/redis_store.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketSpec:
    """One bucket and what a request costs it. ``key``: e.g. ``tenant:acme:tokens``;
    ``capacity``: units (requests or tokens); ``rate_per_s``: units refilled per second;
    ``cost``: units this request takes (a negative cost refunds, in :func:`charge`)."""

    key: str
    capacity: float
    rate_per_s: float
    cost: float


@dataclass(frozen=True)
class BucketState:
    """A stored bucket: ``tokens`` units left at ``updated_at`` (unix seconds)."""

    tokens: float
    updated_at: float


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`take_all`: ``allowed``; ``retry_after_s``: seconds until every bucket
    holds its cost (0 when allowed; ``inf`` when a cost exceeds its bucket's capacity, which no
    wait fixes); ``levels``: units left per bucket key after the decision."""

    allowed: bool
    retry_after_s: float
    levels: dict[str, float]


def refill(state: BucketState | None, spec: BucketSpec, now: float) -> float:
    """Units in the bucket at ``now`` (a missing bucket is full; a clock step back adds nothing)."""
    if state is None:
        return spec.capacity
    return min(spec.capacity, state.tokens + max(0.0, now - state.updated_at) * spec.rate_per_s)


def wait_s(level: float, spec: BucketSpec) -> float:
    """Seconds until ``level`` reaches the cost (0 if it already does; ``inf`` if never)."""
    if level >= spec.cost:
        return 0.0
    if spec.cost > spec.capacity or spec.rate_per_s <= 0:
        return math.inf
    return (spec.cost - level) / spec.rate_per_s


def take_all(states: dict[str, BucketState | None], specs: list[BucketSpec], now: float) -> Decision:
    """Take every spec's cost, or none (see module docstring)."""
    levels = {s.key: refill(states.get(s.key), s, now) for s in specs}
    wait = max((wait_s(levels[s.key], s) for s in specs), default=0.0)
    if wait > 0:
        return Decision(allowed=False, retry_after_s=wait, levels=levels)
    return Decision(allowed=True, retry_after_s=0.0, levels={s.key: levels[s.key] - s.cost for s in specs})


def charge(state: BucketState | None, spec: BucketSpec, now: float) -> float:
    """The level after taking ``spec.cost`` unconditionally (settlement: negative refunds, capped
    at capacity; the level may go below zero)."""
    return min(spec.capacity, refill(state, spec, now) - spec.cost)


def reset_s(level: float, spec: BucketSpec) -> float:
    """Seconds until the bucket is full again (OpenAI's ``x-ratelimit-reset-*`` meaning)."""
    return max(0.0, spec.capacity - level) / spec.rate_per_s if spec.rate_per_s > 0 else 0.0


def duration_text(seconds: float) -> str:
    """OpenAI's duration format of the ``x-ratelimit-reset-*`` headers: ``12ms``, ``1s``, ``6m0s``,
    ``1h2m3s`` (as in ``x-ratelimit-reset-requests: 12ms`` of a real response)."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    total = math.ceil(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{s}s"
    return f"{m}m{s}s" if m else f"{s}s"
