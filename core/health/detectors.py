"""Change detectors on per-request signals (RESILIENCE.md section 6, R3).

- :class:`BernoulliCusum`: Page's CUSUM with log-likelihood-ratio increments for a rate moving
  from ``p0`` to ``p1`` (R3.2, R3.4): failure ``+ln(p1/p0)``, success ``+ln((1-p1)/(1-p0))``.
- :class:`GaussianCusum`: one-sided tabular CUSUM ``S = max(0, S + z - k)`` on standardised values
  (Montgomery's design, R3.3).
- :class:`PageHinkley`: drift in either direction of a standardised mean (R3.5).
- :func:`beta_exceeds`: P(rate > threshold) under a Beta posterior, for feedback (R3.6).

Statistics are capped at ``cap`` so that after a long incident they come back below ``h/2``
(the hysteresis condition of R4.4) within a bounded number of healthy samples.
"""

from __future__ import annotations

import math

from pydantic import BaseModel


class BernoulliCusum(BaseModel):
    """Statistic ``s`` (alarm when ``s >= h``)."""

    s: float = 0.0

    def update(self, hit: bool, p0: float, p1: float, cap: float) -> float:
        inc = math.log(p1 / p0) if hit else math.log((1.0 - p1) / (1.0 - p0))
        self.s = min(max(0.0, self.s + inc), cap)
        return self.s


class GaussianCusum(BaseModel):
    """Upper one-sided CUSUM of standardised values ``z`` with reference ``k``."""

    s: float = 0.0

    def update(self, z: float, k: float, cap: float) -> float:
        self.s = min(max(0.0, self.s + z - k), cap)
        return self.s


class PageHinkley(BaseModel):
    """Two-sided Page-Hinkley test on standardised values; alarm when :meth:`excess` >= lambda."""

    n: int = 0
    mean: float = 0.0
    up: float = 0.0
    up_min: float = 0.0
    down: float = 0.0
    down_max: float = 0.0

    def update(self, z: float, delta: float) -> None:
        self.n += 1
        self.mean += (z - self.mean) / self.n
        self.up += z - self.mean - delta
        self.up_min = min(self.up_min, self.up)
        self.down += z - self.mean + delta
        self.down_max = max(self.down_max, self.down)

    def excess(self) -> float:
        """Largest one-sided excursion so far."""
        return max(self.up - self.up_min, self.down_max - self.down)

    def reset(self) -> None:
        self.n, self.mean, self.up, self.up_min, self.down, self.down_max = 0, 0.0, 0.0, 0.0, 0.0, 0.0


def beta_exceeds(bad: float, good: float, threshold: float, prior_bad: float = 1.0,
                 prior_good: float = 1.0) -> float:
    """P(p > threshold) for p ~ Beta(prior_bad + bad, prior_good + good), by a normal approximation
    of the Beta (adequate for the >= 20 votes the feedback detector requires)."""
    a, b = prior_bad + bad, prior_good + good
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    return 0.5 * math.erfc((threshold - mean) / (sd * math.sqrt(2)))
