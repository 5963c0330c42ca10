"""Rate detector for one binary signal (errors R3.2, a quality flag R3.4): baseline + CUSUM +
confirmation window + recovery test.

- Baseline: EWMA rate with a prior worth ``warmup`` samples at the floor (R2.2), learned only
  while the caller says the target is healthy (R2.3).
- Alarm: Bernoulli CUSUM from ``p0`` = baseline to ``p1 = max(factor x p0, floor)``, ``s >= h``.
- Recovery (deviation, our choice): a Bernoulli CUSUM drains about ``0.01`` per success at
  ``p0 = 0.1 %``, so "statistic below h/2" (R4.4) would take ~500 calls after an outage. Instead,
  once an alarm fires, a Wald SPRT tests "the rate is back at p0" against "the rate is still the
  worst 10 s rate seen during the alarm" (``fault``, capped at 50 %) with alpha = beta = 1 %; accepting p0 clears
  the CUSUM. A 100 % outage clears after 7 clean calls, a 5 % error rate after ~90.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from core.health.baseline import RateBaseline
from core.health.detectors import BernoulliCusum
from core.health.window import BucketWindow

#: SPRT acceptance boundary for H0 with alpha = beta = 0.01: ln(beta / (1 - alpha)).
ACCEPT_H0 = math.log(0.01 / 0.99)
#: Span (s) over which the fault rate is estimated while alarmed.
FAULT_WINDOW_S = 10.0


class RateDetector(BaseModel):
    """See module docstring. ``fault``: rate estimated when the alarm fired; ``recovery``: SPRT LLR."""

    base: RateBaseline = Field(default_factory=RateBaseline)
    cusum: BernoulliCusum = Field(default_factory=BernoulliCusum)
    window: BucketWindow = Field(default_factory=BucketWindow)
    fault: float | None = None
    recovery: float = 0.0

    @classmethod
    def with_prior(cls, floor: float, weight: int) -> RateDetector:
        return cls(base=RateBaseline(mean=floor, weight=float(weight), count=weight))

    def p0(self, floor: float) -> float:
        return self.base.rate(floor)

    def add(self, now: float, hit: bool, *, learn: bool, floor: float, p1_factor: float, p1_floor: float,
            h: float, cap_factor: float, half_life_s: float, keep_s: float) -> None:
        """Count one sample at ``now``; ``learn``: update the baseline (target healthy)."""
        p0 = self.p0(floor)
        p1 = max(p1_factor * p0, p1_floor)
        self.cusum.update(hit, p0, min(p1, 0.99), cap_factor * h)
        self.window.add(now, hit, False, keep_s)
        if learn:
            self.base.update(1.0 if hit else 0.0, now, half_life_s, 0, 1e9)
        if self.cusum.s >= h:  # alarmed: the fault rate is the worst 10 s rate seen during the alarm
            calls, hits, _ = self.window.totals(now, FAULT_WINDOW_S)
            rate = max(hits / max(calls, 1), p1)
            if self.fault is None or rate > self.fault:
                self.fault, self.recovery = rate, min(self.recovery, 0.0)
        if self.fault is not None:
            pf = min(self.fault, 0.5)
            inc = math.log(pf / p0) if hit else math.log((1 - pf) / (1 - p0))
            self.recovery = min(self.recovery + inc, 0.0)
            if self.recovery <= ACCEPT_H0:
                self.clear()

    def alarm(self, h: float) -> bool:
        return self.cusum.s >= h

    def recent(self, now: float, span_s: float) -> tuple[int, int]:
        """``(samples, hits)`` in the last ``span_s`` seconds."""
        calls, hits, _ = self.window.totals(now, span_s)
        return calls, hits

    def clear(self) -> None:
        """Forget the alarm (recovery accepted, or the target is healthy again)."""
        self.cusum.s, self.fault, self.recovery = 0.0, None, 0.0
