"""Per-request random draws: what one request will experience.

Every draw comes from a ``random.Random`` the caller owns (one per target, seeded from the scenario
``seed`` and the target id, so traffic to one target never shifts another target's draws).

Distributions (scenario README "Format": "lognormal fitted to median and p99"):
``mu = ln(median)``, ``sigma = ln(p99 / median) / 2.326`` (2.326 = the standard normal's 99th
percentile). Latency and TTFT are multiplied by ``latency_factor``; output tokens by
``output_tokens_factor``. Times in a :class:`Plan` are real seconds.

Fault order for one request: connection reset (``reset_share``) -> rate limit (``rate_limit_rpm``,
decided by the caller) -> hang (``hang_share``) -> scripted error (``error_rate``, then one of
``errors`` by ``share``) -> success (with ``stream_cut_*`` for streams and ``corrupt_*`` or a failed
task-quality draw for the answer, then ``stream_fault_share`` for streams when a ``stream_fault`` is
set: that draw is made only then, so scenarios without stream faults keep their draw sequence).
``stall_ms`` delays whatever comes. With ``tokens_per_s`` set, ``latency_s`` is ``ttft_s`` plus the
planned tokens at that rate divided by ``latency_factor`` (a slowed target also generates slower;
the latency draw is still made, to keep the sequence).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

from simulator.scenario import Distribution, ErrorSpec
from simulator.timeline import Effective

Z99 = 2.326
Outcome = Literal["ok", "error", "hang", "reset", "rate_limited"]


@dataclass(frozen=True)
class Plan:
    """What happens to one request (seconds are real seconds)."""

    outcome: Outcome
    stall_s: float = 0.0
    ttft_s: float = 0.0
    latency_s: float = 0.0
    output_tokens: int = 0
    error: ErrorSpec | None = None
    cut_after_chunks: int | None = None
    corrupt_kind: str | None = None
    quality_failed: bool = False
    tokens_per_s: float | None = None  # streaming pace; None: chunks spread evenly up to latency_s
    stream_fault: str | None = None  # a ``STREAM_FAULTS`` kind drawn for this stream
    fault_after_tokens: int = 0  # where the stream fault shows (tokens of content or tool arguments)
    overlap_chars: int = 12  # chars of the partial an OpenAI-protocol continuation restates first


def lognormal(rng: random.Random, dist: Distribution) -> float:
    """One draw from the lognormal with the given median and 99th percentile (0 if median is 0)."""
    if dist.median <= 0:
        return 0.0
    sigma = math.log(dist.p99 / dist.median) / Z99 if dist.p99 > dist.median else 0.0
    return rng.lognormvariate(math.log(dist.median), sigma) if sigma else dist.median


def pick_error(rng: random.Random, errors: tuple[ErrorSpec, ...]) -> ErrorSpec:
    """One of ``errors``, drawn with probability proportional to ``share``."""
    return rng.choices(errors, weights=[e.share for e in errors], k=1)[0]


def _quality_failure(rng: random.Random, quality: float | None, json_asked: bool) -> str | None:
    if quality is None or rng.random() < quality:
        return None
    return "invalid_json" if json_asked else rng.choice(("off_topic", "truncated"))


def _success(rng: random.Random, eff: Effective, stream: bool, json_asked: bool,
             quality: float | None) -> Plan:
    ttft = lognormal(rng, eff.ttft_ms) * eff.latency_factor / 1000
    latency = lognormal(rng, eff.latency_ms) * eff.latency_factor / 1000
    tokens = max(1, round(lognormal(rng, eff.output_tokens) * eff.output_tokens_factor))
    cut = eff.stream_cut_after_chunks if stream and rng.random() < eff.stream_cut_share else None
    corrupt = rng.choice(eff.corrupt_kinds) if rng.random() < eff.corrupt_share else None
    failed = _quality_failure(rng, quality, json_asked)
    fault = eff.stream_fault if stream and eff.stream_fault and rng.random() < eff.stream_fault_share else None
    rate = eff.tokens_per_s / eff.latency_factor if eff.tokens_per_s else None
    if rate:
        latency = ttft + tokens / rate
    return Plan(
        outcome="ok", stall_s=eff.stall_ms / 1000, ttft_s=ttft, latency_s=max(latency, ttft),
        output_tokens=tokens, cut_after_chunks=cut, corrupt_kind=corrupt or failed,
        quality_failed=failed is not None and corrupt is None, tokens_per_s=rate,
        stream_fault=fault, fault_after_tokens=eff.stream_fault_after_tokens,
        overlap_chars=eff.continuation_overlap_chars,
    )


def draw_plan(rng: random.Random, eff: Effective, *, stream: bool, json_asked: bool,
              quality: float | None, rate_limited: bool) -> Plan:
    """Decide one request's fate. ``rate_limited`` comes from the caller's sliding window."""
    stall = eff.stall_ms / 1000
    if rng.random() < eff.reset_share:
        return Plan(outcome="reset", stall_s=stall)
    if rate_limited:
        return Plan(outcome="rate_limited", stall_s=stall, ttft_s=lognormal(rng, eff.ttft_ms) / 1000)
    if rng.random() < eff.hang_share:
        return Plan(outcome="hang", stall_s=stall)
    if rng.random() < eff.error_rate:
        ttft = lognormal(rng, eff.ttft_ms) * eff.latency_factor / 1000
        return Plan(outcome="error", stall_s=stall, ttft_s=ttft, error=pick_error(rng, eff.errors))
    return _success(rng, eff, stream, json_asked, quality)
