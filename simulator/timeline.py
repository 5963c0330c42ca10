"""Effective behaviour of each target at an incident time.

Rules (scenario README "Format"): a target starts from its base (``baseline`` merged with the target's
own overrides); timeline steps with ``at <= t`` apply in order of ``at`` (file order, then steps applied
live through ``/_sim/apply``, among equal times); ``target: "*"`` changes every target; ``set`` replaces
only the keys it names (an explicit ``null`` returns a key to its default); ``reset: true`` returns the
target to its base before any ``set`` of the same step.

:class:`Effective` is the fully resolved view with defaults filled in, used for the per-request draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from simulator.scenario import DEFAULT_CORRUPT_KINDS, Behaviour, Distribution, ErrorSpec, Scenario, Step

DEFAULT_LATENCY = Distribution(median=400, p99=1500)
DEFAULT_OUTPUT_TOKENS = Distribution(median=200, p99=600)
DEFAULT_ERRORS = (ErrorSpec(status=500),)
DEFAULT_CUT_AFTER_CHUNKS = 3
DEFAULT_FAULT_AFTER_TOKENS = 20
DEFAULT_OVERLAP_CHARS = 12


@dataclass(frozen=True)
class Effective:
    """Resolved behaviour of one target: every key has a concrete value (milliseconds, shares 0..1)."""

    error_rate: float
    errors: tuple[ErrorSpec, ...]
    latency_ms: Distribution
    ttft_ms: Distribution
    latency_factor: float
    stall_ms: float
    hang_share: float
    reset_share: float
    stream_cut_share: float
    stream_cut_after_chunks: int
    tokens_per_s: float | None
    stream_fault: str | None
    stream_fault_share: float
    stream_fault_after_tokens: int
    continuation_overlap_chars: int
    output_tokens: Distribution
    output_tokens_factor: float
    corrupt_share: float
    corrupt_kinds: tuple[str, ...]
    rate_limit_rpm: int | None
    task_quality: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        """Plain-JSON form for ``GET /_sim/state``."""
        data: dict = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Distribution):
                value = value.model_dump()
            elif f.name == "errors":
                value = [e.model_dump(exclude_none=True) for e in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        return data


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _fault_share(b: Behaviour) -> float:
    """Share of streams that get ``stream_fault``: as set, 1 when a kind is set without a share, else 0."""
    if b.stream_fault is None:
        return 0.0
    return 1.0 if b.stream_fault_share is None else b.stream_fault_share


def resolve(b: Behaviour) -> Effective:
    """Fill defaults into a merged :class:`Behaviour`."""
    latency = b.latency_ms or DEFAULT_LATENCY
    ttft = b.ttft_ms or Distribution(median=latency.median * 0.35, p99=latency.p99 * 0.35)
    return Effective(
        error_rate=b.error_rate or 0.0,
        errors=tuple(b.errors) if b.errors else DEFAULT_ERRORS,
        latency_ms=latency,
        ttft_ms=ttft,
        latency_factor=b.latency_factor or 1.0,
        stall_ms=b.stall_ms or 0.0,
        hang_share=b.hang_share or 0.0,
        reset_share=b.reset_share or 0.0,
        stream_cut_share=b.stream_cut_share or 0.0,
        stream_cut_after_chunks=_or(b.stream_cut_after_chunks, DEFAULT_CUT_AFTER_CHUNKS),
        tokens_per_s=b.tokens_per_s,
        stream_fault=b.stream_fault,
        stream_fault_share=_fault_share(b),
        stream_fault_after_tokens=_or(b.stream_fault_after_tokens, DEFAULT_FAULT_AFTER_TOKENS),
        continuation_overlap_chars=_or(b.continuation_overlap_chars, DEFAULT_OVERLAP_CHARS),
        output_tokens=b.output_tokens or DEFAULT_OUTPUT_TOKENS,
        output_tokens_factor=b.output_tokens_factor or 1.0,
        corrupt_share=b.corrupt_share or 0.0,
        corrupt_kinds=tuple(b.corrupt_kind) if b.corrupt_kind else DEFAULT_CORRUPT_KINDS,
        rate_limit_rpm=b.rate_limit_rpm,
        task_quality=dict(b.task_quality or {}),
    )


def _touches(step: Step, target: str) -> bool:
    return step.target in ("*", target)


def behaviour_at(scenario: Scenario, target: str, t: float, live: Iterable[Step] = ()) -> Behaviour:
    """Merged behaviour of ``target`` at incident time ``t`` (seconds), before defaults."""
    base = scenario.target_base(target).model_dump(exclude_unset=True)
    current = dict(base)
    steps = sorted([*scenario.timeline, *live], key=lambda s: s.at)  # stable: file order, then live
    for step in steps:
        if step.at > t or not _touches(step, target):
            continue
        if step.reset:
            current = dict(base)
        if step.set_ is not None:
            current.update(step.set_.model_dump(exclude_unset=True))
    return Behaviour.model_validate(current)


def effective_at(scenario: Scenario, target: str, t: float, live: Iterable[Step] = ()) -> Effective:
    """Resolved behaviour of ``target`` at incident time ``t`` (seconds)."""
    return resolve(behaviour_at(scenario, target, t, live))


def next_step(scenario: Scenario, t: float) -> Step | None:
    """The first scripted step still to come after incident time ``t``, if any."""
    return next((s for s in scenario.ordered_steps() if s.at > t), None)
