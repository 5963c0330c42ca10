"""Every threshold of the health layer, with its default and where the number comes from.

One flat model so a target can override any field in the config (``targets[i].health``) and the
override merges field by field over the global ``health:`` block (:func:`merged`). Times in
seconds, latencies in ms, rates and shares in [0, 1]. Sources: ``shared/RESILIENCE.md``
recommendations R1-R11 (section numbers in comments); "deviation" marks a number we changed and why.

Pure data: importable inside workflows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Answer-check flags that, on their own, fail the answer over to the next target (DESIGN.md
#: "Response checks"): high-precision checks only. ``truncated`` and ``refusal`` only count in health.
DEFAULT_QUALITY_FAILOVER = ("empty", "invalid_json", "foreign_script", "repetition")


class HealthSettings(BaseModel):
    """Health, breaker, traffic-share and budget thresholds (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enforce: bool = True  # False: observe only (R3.7, Envoy enforcing_* = 0): computed, shown, not routed on

    # R6 circuit breaker: 30 s window of 1 s buckets (Polly v8 / resilience4j), 20 calls (Hystrix).
    window_s: float = Field(30.0, gt=0, le=600)
    min_calls: int = Field(20, ge=1)
    failure_rate_open: float = Field(0.5, gt=0, le=1)       # resilience4j, Hystrix
    slow_rate_open: float = Field(0.5, gt=0, le=1)          # R6.1
    slow_call_p95_factor: float = Field(3.0, gt=1)          # slow = latency > max(3 x baseline p95, floor)
    slow_call_floor_ms: float = Field(2000.0, gt=0)
    consecutive_failures: int = Field(5, ge=1)              # Envoy consecutive_5xx (R3.1)
    consecutive_timeouts: int = Field(3, ge=1)              # R3.1
    open_base_s: float = Field(30.0, gt=0)                  # Envoy base_ejection_time (R6.2)
    open_max_s: float = Field(300.0, gt=0)                  # Envoy max_ejection_time
    open_jitter: float = Field(0.1, ge=0, lt=1)             # +-10 % (R6.2)
    half_open_trials: int = Field(5, ge=1)                  # R6.3 (resilience4j: 10)
    half_open_successes: int = Field(4, ge=1)               # R6.3: close on >= 4 of 5
    half_open_share: float = Field(0.1, gt=0, le=1)         # our choice: user traffic admitted as trials
    half_open_idle_s: float = Field(60.0, gt=0)             # R6.3: no trial in 60 s -> OPEN again
    # Envoy "successful active health check un-ejects": a streak of probe successes lasting
    # probe_dwell_s x 2^relapses ends OPEN early (deviation: R5.4's 30 s x n dwell would miss the
    # issue's 30 s failback target; the doubling on relapses is what stops flapping).
    probe_successes_to_half_open: int = Field(3, ge=1)
    probe_dwell_s: float = Field(5.0, ge=0)
    relapse_window_s: float = Field(600.0, gt=0)            # R5.4: multiplier decays one per 10 min healthy

    # R2 baselines: EWMA of log latency and of binary rates, half-life 30 min, winsorised at 4 sigma.
    baseline_half_life_s: float = Field(1800.0, gt=0)
    baseline_warmup: int = Field(50, ge=5)                  # deviation: R2.2 says 200; see README "Health"
    winsor_sigma: float = Field(4.0, gt=0)
    latency_sigma_floor: float = Field(0.3, gt=0)           # R2.4, log units
    rate_floor: float = Field(0.001, gt=0, lt=1)            # R2.4 error baseline floor

    # R3 detectors
    error_cusum_h: float = Field(8.0, gt=0)                 # R3.2, ARL0 ~ 9e5 (section 6.6)
    error_p1_factor: float = Field(10.0, gt=1)
    error_p1_floor: float = Field(0.01, gt=0, lt=1)
    error_confirm_factor: float = Field(3.0, gt=1)          # R3.2: 60 s rate >= 3x baseline, >= 20 calls
    error_confirm_window_s: float = Field(60.0, gt=0)
    error_confirm_min_calls: int = Field(20, ge=1)
    error_severe_rate: float = Field(0.25, gt=0, le=1)      # our choice: confirmed rate above -> severe
    latency_cusum_k: float = Field(0.5, ge=0)               # R3.3
    latency_cusum_h: float = Field(12.0, gt=0)              # R3.3, ARL0 ~ 1e6
    # R3.3 confirms with an EWMA of 10 s bucket medians; deviation: median of the last 20 samples
    # (second, short window, SRE "AND of two windows"), because a 10 s bucket alone takes the
    # whole 10 s detection budget of the 5x target.
    latency_confirm_samples: int = Field(20, ge=3)
    latency_confirm_min_samples: int = Field(5, ge=1)
    latency_confirm_window_s: float = Field(30.0, gt=0)
    latency_confirm_ratio: float = Field(1.5, gt=1)
    latency_degraded_ratio: float = Field(2.0, gt=1)        # R3.3
    latency_severe_ratio: float = Field(4.0, gt=1)          # deviation from 5x: a 20-sample median of a
    #                                                         true 5x is below 5 half the time, below 4 ~8 %
    quality_cusum_h: float = Field(8.0, gt=0)               # R3.4
    quality_p1_factor: float = Field(5.0, gt=1)
    quality_p1_floor: float = Field(0.02, gt=0, lt=1)
    quality_severe_rate: float = Field(0.2, gt=0, le=1)     # our choice
    tokens_ph_delta: float = Field(0.1, ge=0)               # R3.5 Page-Hinkley, in sigma
    tokens_ph_lambda: float = Field(50.0, gt=0)
    tokens_min_samples: int = Field(30, ge=1)
    feedback_warn_factor: float = Field(2.0, gt=1)          # R3.6
    feedback_confidence: float = Field(0.99, gt=0.5, lt=1)
    feedback_min_votes: int = Field(20, ge=1)
    cusum_cap_factor: float = Field(1.5, ge=1)              # statistics are capped at this x h so they reset
    corroborate_s: float = Field(10.0, ge=0)                # R4.2: an uncorroborated alarm must hold this long

    # R4/R5 states and traffic shares
    state_dwell_s: float = Field(5.0, ge=0)                 # hysteresis dwell per level (x (1 + relapses))
    degraded_share_first: float = Field(0.75, ge=0, le=1)   # R5.1
    degraded_share: float = Field(0.5, ge=0, le=1)
    degraded_step_after_s: float = Field(60.0, ge=0)
    severe_share: float = Field(0.05, ge=0, le=1)
    ramp_steps: tuple[float, ...] = (0.05, 0.25, 0.5, 1.0)  # R5.4
    ramp_dwell_s: float = Field(4.0, ge=0)                  # deviation: R5.4 60 s; see README "Health"
    ramp_min_samples: int = Field(5, ge=0)
    ramp_max_latency_ratio: float = Field(1.2, gt=1)        # R5.4

    # R5.3 / R7 / R8 / R11.3 probes and budgets
    probe_share: float = Field(0.05, ge=0, le=1)            # probe traffic <= max(5 %, 1 per 5 s)
    probe_min_interval_s: float = Field(5.0, gt=0)
    probe_idle_s: float = Field(30.0, gt=0)                 # probe a target with no outcome for this long
    probe_max_tokens: int = Field(16, ge=1)
    retry_budget_ratio: float = Field(0.1, ge=0, le=1)      # R7.2 gRPC tokenRatio
    retry_budget_max_tokens: float = Field(10.0, gt=0)
    retry_budget_floor_per_s: float = Field(1.0, ge=0)      # Finagle/tower minimum retries per second
    hedge_enabled: bool = False                             # R8.1: off by default
    hedge_budget_ratio: float = Field(0.05, ge=0, le=1)     # R8.4
    quality_failover: tuple[str, ...] = DEFAULT_QUALITY_FAILOVER

    @model_validator(mode="after")
    def _coherent(self) -> HealthSettings:
        if self.open_max_s < self.open_base_s:
            raise ValueError("open_max_s must be >= open_base_s (Envoy rejects the same)")
        if self.half_open_successes > self.half_open_trials:
            raise ValueError("half_open_successes must be <= half_open_trials")
        steps = list(self.ramp_steps)
        if not steps or steps != sorted(steps) or steps[-1] != 1.0 or steps[0] <= 0:
            raise ValueError("ramp_steps must increase, start above 0 and end at 1.0")
        if self.latency_severe_ratio < self.latency_degraded_ratio:
            raise ValueError("latency_severe_ratio must be >= latency_degraded_ratio")
        return self


def merged(base: HealthSettings, override: HealthSettings | None) -> HealthSettings:
    """``base`` with the fields ``override`` set explicitly (in the YAML) replaced."""
    if override is None or not override.model_fields_set:
        return base
    data = base.model_dump()
    data.update({k: getattr(override, k) for k in override.model_fields_set})
    return HealthSettings.model_validate(data)
