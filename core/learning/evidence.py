"""Discounted Beta evidence for one Bernoulli signal of one target (success, quality, feedback).

Discounted Thompson sampling (RESILIENCE.md 7.2, Qi et al. 2023): an outcome ``k`` periods old
weighs ``discount ** k``, so old evidence fades and a target that changed is re-learned. Two
additions from R10.3:

- **memory cap**: when the discounted count passes ``memory`` (about 2,000 samples), all
  counts are scaled down to it, so a busy target's posterior never becomes too sure to move;
- **change point**: when the latest period's rate differs from the older periods' by a
  two-proportion z-score of at least ``change_z`` (both sides with ``change_min_samples``
  samples or more), the older periods are forgotten (the "reset toward the prior when a detector
  alarms" of R10.3, with the detector run here on the signal itself). At z = 4 a stationary
  signal trips it about once in 16,000 tests (two-sided normal tail).

The posterior is ``Beta(1 + good, 1 + bad)`` (the usual uniform prior, 7.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.config import LearningSettings


@dataclass(frozen=True)
class Evidence:
    """Effective good and bad samples of one signal; ``reset``: a change point cut the history."""

    good: float = 0.0
    bad: float = 0.0
    reset: bool = False

    @property
    def n(self) -> float:
        """Effective sample count."""
        return self.good + self.bad

    @property
    def alpha(self) -> float:
        """Beta posterior's alpha under the uniform prior."""
        return 1.0 + self.good

    @property
    def beta(self) -> float:
        """Beta posterior's beta under the uniform prior."""
        return 1.0 + self.bad

    @property
    def mean(self) -> float:
        """Posterior mean ``alpha / (alpha + beta)``: 0.5 with no evidence."""
        return self.alpha / (self.alpha + self.beta)


def changed(recent: tuple[float, float], older: tuple[float, float], z: float, min_samples: int) -> bool:
    """True when ``recent`` and ``older`` ``(good, bad)`` rates differ by a z-score >= ``z``."""
    n1, n0 = sum(recent), sum(older)
    if n1 < min_samples or n0 < min_samples:
        return False
    pooled = (recent[0] + older[0]) / (n1 + n0)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0)
    if var <= 0.0:
        return False
    return abs(recent[0] / n1 - older[0] / n0) / math.sqrt(var) >= z


def discounted(periods: Sequence[tuple[int, float, float]], settings: LearningSettings) -> Evidence:
    """Evidence from ``(age, good, bad)`` raw counts per period (age 0 = latest period)."""
    recent = (sum(g for a, g, _ in periods if a == 0), sum(b for a, _, b in periods if a == 0))
    older = (sum(g for a, g, _ in periods if a > 0), sum(b for a, _, b in periods if a > 0))
    reset = changed(recent, older, settings.change_z, settings.change_min_samples)
    kept = [p for p in periods if p[0] == 0] if reset else list(periods)
    good = sum(settings.discount ** a * g for a, g, _ in kept)
    bad = sum(settings.discount ** a * b for a, _, b in kept)
    if good + bad > settings.memory:
        scale = settings.memory / (good + bad)
        good, bad = good * scale, bad * scale
    return Evidence(good=good, bad=bad, reset=reset)
