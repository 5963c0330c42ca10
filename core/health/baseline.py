"""Self-baselines (RESILIENCE.md R2): exponentially weighted mean and variance with a time half-life.

Each update first decays the accumulated weight by ``0.5 ** (dt / half_life_s)`` and then adds the
sample with weight 1 (West's weighted incremental algorithm), so the baseline forgets at the same
speed whatever the traffic. After ``warmup`` samples every new sample is winsorised at
``mean +- winsor_sigma * sigma`` before it updates the baseline (R2.1). Callers freeze updates while
the target is not healthy (R2.3). :class:`LogBaseline` works on ``ln(value)``: latencies are
roughly lognormal, so standardised log latency is roughly normal.
"""

from __future__ import annotations

import math

from pydantic import BaseModel


class Baseline(BaseModel):
    """EWMA mean/variance of a signal. ``weight``: decayed sample count; ``count``: samples seen."""

    mean: float = 0.0
    m2: float = 0.0
    weight: float = 0.0
    count: int = 0
    last: float | None = None

    def update(self, x: float, now: float, half_life_s: float, warmup: int, winsor_sigma: float) -> None:
        """Add sample ``x`` observed at ``now`` (unix s)."""
        if self.count >= warmup and self.weight > 0:
            sd = self.sd()
            x = min(max(x, self.mean - winsor_sigma * sd), self.mean + winsor_sigma * sd)
        decay = 1.0 if self.last is None else 0.5 ** (max(0.0, now - self.last) / half_life_s)
        w = self.weight * decay + 1.0
        delta = x - self.mean
        self.mean += delta / w
        self.m2 = self.m2 * decay + delta * (x - self.mean)
        self.weight, self.last, self.count = w, now, self.count + 1

    def sd(self, floor: float = 0.0) -> float:
        """Standard deviation (at least ``floor``)."""
        var = self.m2 / self.weight if self.weight > 0 else 0.0
        return max(math.sqrt(max(var, 0.0)), floor)

    def ready(self, warmup: int) -> bool:
        """True once ``warmup`` samples were seen (R2.2: before that, hard rules only)."""
        return self.count >= warmup


class LogBaseline(Baseline):
    """A :class:`Baseline` of ``ln(value)`` for positive values (latency ms, tokens)."""

    def add(self, value: float, now: float, half_life_s: float, warmup: int, winsor_sigma: float) -> None:
        """Add a positive ``value`` (values <= 0 count as 1, e.g. a 0 ms or empty answer)."""
        self.update(math.log(max(value, 1.0)), now, half_life_s, warmup, winsor_sigma)

    def z(self, value: float, sigma_floor: float) -> float:
        """Standardised log value."""
        return (math.log(max(value, 1.0)) - self.mean) / self.sd(sigma_floor)

    def median(self) -> float:
        """Baseline median in the value's unit (exp of the log mean)."""
        return math.exp(self.mean)

    def quantile(self, z: float, sigma_floor: float) -> float:
        """Value at ``z`` standard deviations (1.645: p95) in the value's unit."""
        return math.exp(self.mean + z * self.sd(sigma_floor))


class RateBaseline(Baseline):
    """Baseline rate of a binary signal (errors, a quality flag), floored at ``floor`` (R2.4)."""

    def rate(self, floor: float) -> float:
        return min(max(self.mean, floor), 0.5)
