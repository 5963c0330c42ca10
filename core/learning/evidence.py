"""Discounted Beta evidence for one Bernoulli signal of one target (success, quality, feedback).

Discounted Thompson sampling (RESILIENCE.md 7.2, Qi et al. 2023): an outcome ``k`` periods old
weighs ``discount ** k``, so old evidence fades and a target that changed is re-learned. Two
additions from R10.3:

- **memory cap**: when the discounted count passes ``memory`` (about 2,000 samples), all
  counts are scaled down to it, so a busy target's posterior never becomes too sure to move;
- **change point**: every split of the window into "the last k periods" and "the older ones" is
  tested with a two-proportion z-score (both sides with ``change_min_samples`` samples or more);
  if the largest reaches ``change_z``, the periods before that split are forgotten (the "reset
  toward the prior when a detector alarms" of R10.3, with the detector run here on the signal
  itself). Scanning every split, not only the latest period, keeps the reset in later runs too,
  when the changed target gets little traffic after being demoted. At z = 4 one stationary test
  trips about once in 16,000 (two-sided normal tail); the splits of one signal are strongly
  correlated, so a scan of 24 trips far less often than 24 times that.

The posterior is ``Beta(1 + prior_good + good, 1 + prior_bad + bad)``: the usual uniform prior
(7.1), plus ``prior_strength`` pseudo-samples at the rate the same target shows on the route's
*other* task types (partial pooling, :func:`pooled_prior`). A model good at everything else starts
near its usual rate on a task where it has few samples, instead of at 0.5, so a task whose leader
degrades finds its alternatives without waiting for the 2% floor to gather evidence.
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
    prior_good: float = 0.0
    prior_bad: float = 0.0

    @property
    def n(self) -> float:
        """Effective sample count."""
        return self.good + self.bad

    @property
    def alpha(self) -> float:
        """Beta posterior's alpha (uniform prior + pooled pseudo-samples + evidence)."""
        return 1.0 + self.prior_good + self.good

    @property
    def beta(self) -> float:
        """Beta posterior's beta (uniform prior + pooled pseudo-samples + evidence)."""
        return 1.0 + self.prior_bad + self.bad

    @property
    def mean(self) -> float:
        """Posterior mean ``alpha / (alpha + beta)``: 0.5 with no evidence and no prior."""
        return self.alpha / (self.alpha + self.beta)


def z_score(recent: tuple[float, float], older: tuple[float, float], min_samples: int) -> float:
    """Two-proportion z-score of ``recent`` vs ``older`` ``(good, bad)`` counts; 0 when a side has
    fewer than ``min_samples`` samples or both rates are 0 or 1."""
    n1, n0 = sum(recent), sum(older)
    if n1 < min_samples or n0 < min_samples:
        return 0.0
    pooled = (recent[0] + older[0]) / (n1 + n0)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0)
    if var <= 0.0:
        return 0.0
    return abs(recent[0] / n1 - older[0] / n0) / math.sqrt(var)


def changed(recent: tuple[float, float], older: tuple[float, float], z: float, min_samples: int) -> bool:
    """True when ``recent`` and ``older`` ``(good, bad)`` rates differ by a z-score >= ``z``."""
    return z_score(recent, older, min_samples) >= z


def change_split(periods: Sequence[tuple[int, float, float]], settings: LearningSettings) -> int | None:
    """The age ``k`` at which the window splits most significantly into ages ``< k`` and ``>= k``,
    if that split's z-score reaches ``change_z``; else ``None``."""
    best_k, best_z = None, settings.change_z
    for k in sorted({a for a, _, _ in periods if a > 0}):
        recent = (sum(g for a, g, _ in periods if a < k), sum(b for a, _, b in periods if a < k))
        older = (sum(g for a, g, _ in periods if a >= k), sum(b for a, _, b in periods if a >= k))
        z = z_score(recent, older, settings.change_min_samples)
        if z >= best_z:
            best_k, best_z = k, z
    return best_k


def discounted(periods: Sequence[tuple[int, float, float]], settings: LearningSettings) -> Evidence:
    """Evidence from ``(age, good, bad)`` raw counts per period (age 0 = latest period)."""
    split = change_split(periods, settings)
    reset = split is not None
    kept = [p for p in periods if p[0] < split] if split is not None else list(periods)
    good = sum(settings.discount ** a * g for a, g, _ in kept)
    bad = sum(settings.discount ** a * b for a, _, b in kept)
    if good + bad > settings.memory:
        scale = settings.memory / (good + bad)
        good, bad = good * scale, bad * scale
    return Evidence(good=good, bad=bad, reset=reset)


def pooled_prior(ev: Evidence, others: Sequence[Evidence], strength: float) -> Evidence:
    """``ev`` with ``strength`` pseudo-samples at the mean rate of ``others`` (the same target's
    evidence on other task types) as its prior; unchanged without such evidence."""
    good, bad = sum(e.good for e in others), sum(e.bad for e in others)
    if strength <= 0 or good + bad <= 0:
        return ev
    rate = good / (good + bad)
    return Evidence(good=ev.good, bad=ev.bad, reset=ev.reset, prior_good=strength * rate,
                    prior_bad=strength * (1.0 - rate))
