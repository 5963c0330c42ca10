"""Adaptive concurrency limit per target: loss-based AIMD with a latency signal (pure math).

Netflix ``concurrency-limits`` ``AIMDLimit`` (``shared/RESILIENCE.md`` 5.1 and R9.3): on a
**drop** the limit is multiplied by ``backoff_ratio`` (0.9); otherwise it grows by 1 when the
in-flight count was at least half the limit (a limit nobody uses is not raised); clamped to
``[min_limit, max_limit]``. Defaults: initial 20, max 200, backoff 0.9 (Netflix); min 2 (R9.3:
"for small providers the minimum drops from 20 to 2").

A drop is an explicit overload answer (``RateLimited``, ``Overloaded``, ``Timeout``: R6.4 "429s
feed the AIMD limiter") or a call slower than ``latency_tolerance`` x the target's **baseline**
latency: an exponential moving average over about ``baseline_window`` samples (Gradient2's long
RTT window, 600 samples, R5.1), seeded by the first sample. Tolerance 2.0 by default, above
Gradient2's 1.5, because LLM latency varies with output length (R5.3).

Requests of lower priority may fill only a share of the limit (a partitioned limiter, R9.4), with
the load-shedding shares of ``core/admission_config.py``: batch traffic yields to interactive.
Pure: importable inside workflows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.failover_budget import FailoverBudgetSettings

#: Error classes that count as a drop (the provider said it is overloaded, or the call timed out).
DROP_CLASSES = frozenset({"RateLimited", "Overloaded", "Timeout"})


class ConcurrencySettings(BaseModel):
    """The ``concurrency`` block of the config: ``mode`` ``off`` (default) or ``aimd``; the
    AIMD parameters above (limits in concurrent calls per target per worker process; latency
    tolerance as a multiple of the baseline; ``baseline_window`` in samples);
    ``failover_budget``: the per-route failover budget (``core/failover_budget.py``; works with
    ``mode: off`` too)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["off", "aimd"] = "off"
    initial_limit: float = Field(default=20, ge=1)
    min_limit: float = Field(default=2, ge=1)
    max_limit: float = Field(default=200, ge=1)
    backoff_ratio: float = Field(default=0.9, ge=0.5, le=1.0)
    latency_tolerance: float = Field(default=2.0, gt=1.0)
    baseline_window: int = Field(default=600, ge=1)
    failover_budget: FailoverBudgetSettings = Field(default_factory=FailoverBudgetSettings)

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_bool(cls, v: object) -> object:
        return "off" if v is False else v

    @model_validator(mode="after")
    def _ordered(self) -> ConcurrencySettings:
        if not self.min_limit <= self.initial_limit <= self.max_limit:
            raise ValueError("expected min_limit <= initial_limit <= max_limit")
        return self


class AimdState(BaseModel):
    """One target's limit (concurrent calls) and baseline latency (ms, ``None`` before a sample)."""

    limit: float
    baseline_ms: float | None = None


def update(state: AimdState, s: ConcurrencySettings, *, in_flight: int, dropped: bool,
           latency_ms: float | None) -> AimdState:
    """The state after one finished call (see module docstring). ``in_flight``: calls of the
    target in flight when this one finished, itself included; ``latency_ms``: its latency (``None``
    for a call that gave no latency sample, e.g. cancelled)."""
    baseline = state.baseline_ms
    slow = False
    if latency_ms is not None:
        slow = baseline is not None and latency_ms > s.latency_tolerance * baseline
        alpha = 1.0 / s.baseline_window
        baseline = latency_ms if baseline is None else baseline + alpha * (latency_ms - baseline)
    limit = state.limit
    if dropped or slow:
        limit *= s.backoff_ratio
    elif in_flight >= limit / 2:
        limit += 1
    return AimdState(limit=min(s.max_limit, max(s.min_limit, limit)), baseline_ms=baseline)


def admits(limit: float, in_flight: int, share: float) -> bool:
    """Whether one more call fits: ``in_flight`` (before it) below ``limit * share``, and always
    at least one call at a time per target."""
    return in_flight < max(1.0, limit * share)
