"""What health sees of one provider call (RESILIENCE.md R1): an :class:`Observation`.

Outcome classes (R1.1): ``ok``; ``failure`` (the error class counts against health: 5xx, 529,
timeouts, resets, malformed answers, bad keys); ``capacity`` (429 ``RateLimited``: a capacity
signal, never a breaker failure, R6.4); ``ignored`` (the caller's own errors, context length,
content policy). An answer that came back but failed the answer checks is ``ok`` for transport
(its latency is real) and carries its quality ``flags``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from core.errors import ErrorClass, policy


class Kind(StrEnum):
    OK = "ok"
    FAILURE = "failure"
    CAPACITY = "capacity"
    IGNORED = "ignored"


class Observation(BaseModel):
    """One call of ``target`` at ``at`` (unix s). Latencies in ms; ``output_tokens`` as counted.
    ``probe``: an active health probe, not user traffic."""

    target: str
    at: float
    kind: Kind
    timeout: bool = False
    latency_ms: float | None = None
    ttft_ms: float | None = None
    output_tokens: int | None = None
    flags: tuple[str, ...] = ()
    probe: bool = False

    @property
    def failed(self) -> bool:
        return self.kind is Kind.FAILURE


class Vote(BaseModel):
    """User feedback on an answer of ``target`` at ``at``: thumbs up (``positive``) or down."""

    target: str
    at: float
    positive: bool


def parse_flags(flags: str | None) -> tuple[str, ...]:
    """``"empty,repetition"`` -> ``("empty", "repetition")``."""
    return tuple(f for f in (flags or "").split(",") if f)


def observe(target: str, at: float, status_class: str, *, counts_against_health: bool | None = None,
            latency_ms: float | None = None, ttft_ms: float | None = None, output_tokens: int | None = None,
            quality_flags: str | None = None, probe: bool = False) -> Observation:
    """The observation of one outcome row (``activities/storage/outcomes.py`` fields).

    ``counts_against_health`` defaults to the error class's policy (``core/errors.py``)."""
    flags = parse_flags(quality_flags)
    if status_class == "ok" or flags:
        return Observation(target=target, at=at, kind=Kind.OK, latency_ms=latency_ms, ttft_ms=ttft_ms,
                           output_tokens=output_tokens, flags=flags, probe=probe)
    if status_class == ErrorClass.RATE_LIMITED.value:
        return Observation(target=target, at=at, kind=Kind.CAPACITY, probe=probe)
    counts = policy(status_class).counts_against_health if counts_against_health is None else counts_against_health
    if not counts:
        return Observation(target=target, at=at, kind=Kind.IGNORED, probe=probe)
    return Observation(target=target, at=at, kind=Kind.FAILURE, timeout=status_class == ErrorClass.TIMEOUT.value,
                       latency_ms=latency_ms, probe=probe)
