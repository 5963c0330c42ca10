"""Each detector's verdict on one target: a :class:`core.health.levels.Signal` (R3, R4.1).

- ``hard`` (R3.1): consecutive failures / timeouts -> severe at once, no corroboration.
- ``errors`` (R3.2): Bernoulli CUSUM (h = 8) confirmed by the 60 s failure rate >= 3x baseline with
  >= 20 calls; severe when that rate is >= ``error_severe_rate``.
- ``latency`` (R3.3): Gaussian CUSUM on standardised log latency (k = 0.5, h = 12) confirmed by the
  median of the last 20 calls >= 1.5x baseline; >= 2x degraded, >= ``latency_severe_ratio`` severe.
  Resets when the CUSUM is below h/2 or the last 5 calls' median is below ``ramp_max_latency_ratio``.
- ``quality:<flag>`` (R3.4): Bernoulli CUSUM per flag, needs corroboration; severe when the flagged
  share of the last minute is >= ``quality_severe_rate``.
- ``tokens`` (R3.5) and ``feedback`` (R3.6): warn only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from core.health.detectors import beta_exceeds
from core.health.levels import Signal
from core.health.settings import HealthSettings

if TYPE_CHECKING:
    from core.health.tracker import Tracker

#: R4.3 weights: errors and hard rules 1.0, latency 0.8, quality 0.7, tokens 0.4, feedback 0.3.
WEIGHTS = {"hard": 1.0, "errors": 1.0, "latency": 0.8, "quality": 0.7, "tokens": 0.4, "feedback": 0.3}


def verdicts(t: Tracker, now: float, s: HealthSettings) -> list[Signal]:
    """All signals of ``t`` at ``now``."""
    return [hard_signal(t, s), error_signal(t, now, s), latency_signal(t, now, s),
            *quality_signals(t, now, s), tokens_signal(t, now, s), feedback_signal(t, now, s)]


def hard_signal(t: Tracker, s: HealthSettings) -> Signal:
    why = ""
    if t.consecutive >= s.consecutive_failures:
        why = f"{t.consecutive} consecutive failures"
    elif t.timeouts >= s.consecutive_timeouts:
        why = f"{t.timeouts} consecutive timeouts"
    return Signal(name="hard", severity=3 if why else 0, reason=why, reset=t.consecutive == 0,
                  statistical=False, confirmed=True, weight=WEIGHTS["hard"])


def error_signal(t: Tracker, now: float, s: HealthSettings) -> Signal:
    det = t.errors
    p0 = det.p0(s.rate_floor)
    calls, fails = det.recent(now, s.error_confirm_window_s)
    rate = fails / calls if calls else 0.0
    confirmed = calls >= s.error_confirm_min_calls and rate >= s.error_confirm_factor * p0
    alarm = det.alarm(s.error_cusum_h)
    sev = (3 if rate >= s.error_severe_rate else 2) if alarm and confirmed else (1 if alarm else 0)
    why = f"error rate {rate:.1%} of {calls} calls in {s.error_confirm_window_s:g} s, baseline {p0:.2%}"
    return Signal(name="errors", severity=sev, reason=why if sev else "", reset=det.cusum.s < s.error_cusum_h / 2,
                  confirmed=True, weight=WEIGHTS["errors"])


def latency_signal(t: Tracker, now: float, s: HealthSettings) -> Signal:
    ratio = t.latency_ratio(now, s, s.latency_confirm_samples)
    if ratio is None:
        return Signal(name="latency", weight=WEIGHTS["latency"])
    cus = t.lat_cusum.s
    alarm = cus >= s.latency_cusum_h
    sev = 0
    if alarm and ratio >= s.latency_confirm_ratio:
        sev = 3 if ratio >= s.latency_severe_ratio else 2 if ratio >= s.latency_degraded_ratio else 1
    elif alarm or ratio >= s.latency_degraded_ratio:
        sev = 1
    last5 = t.latency_ratio(now, s, s.latency_confirm_min_samples)
    reset = cus < s.latency_cusum_h / 2 or (last5 is not None and last5 < s.ramp_max_latency_ratio)
    why = f"latency {ratio:.1f}x baseline p50 {t.latency.median():.0f} ms (CUSUM {cus:.0f}/{s.latency_cusum_h:g})"
    return Signal(name="latency", severity=sev, reason=why if sev else "", reset=reset, confirmed=True,
                  weight=WEIGHTS["latency"])


def quality_signals(t: Tracker, now: float, s: HealthSettings) -> list[Signal]:
    out = []
    for flag, det in t.quality.items():
        if not det.alarm(s.quality_cusum_h):
            out.append(Signal(name=f"quality:{flag}", reset=det.cusum.s < s.quality_cusum_h / 2,
                              weight=WEIGHTS["quality"]))
            continue
        calls, hits = det.recent(now, s.error_confirm_window_s)
        rate = hits / calls if calls else 0.0
        why = f"{flag} answers {rate:.1%} of {calls} in {s.error_confirm_window_s:g} s vs baseline " \
              f"{det.p0(s.rate_floor):.2%}"
        out.append(Signal(name=f"quality:{flag}", severity=3 if rate >= s.quality_severe_rate else 2,
                          reason=why, reset=False, weight=WEIGHTS["quality"]))
    return out


def tokens_signal(t: Tracker, now: float, s: HealthSettings) -> Signal:
    """Warn while a Page-Hinkley alarm is younger than ``relapse_window_s``, then re-arm."""
    if t.tokens_ph.n >= s.tokens_min_samples and t.tokens_ph.excess() >= s.tokens_ph_lambda:
        t.tokens_alarm_at = t.tokens_alarm_at or now
    if t.tokens_alarm_at is not None and now - t.tokens_alarm_at > s.relapse_window_s:
        t.tokens_alarm_at = None
        t.tokens_ph.reset()
    if t.tokens_alarm_at is None:
        return Signal(name="tokens", weight=WEIGHTS["tokens"])
    return Signal(name="tokens", severity=1, reset=False, weight=WEIGHTS["tokens"],
                  reason=f"output length drift (baseline median {math.exp(t.tokens.mean):.0f} tokens)")


def feedback_signal(t: Tracker, now: float, s: HealthSettings) -> Signal:
    """Warn when P(thumbs-down rate > 2x baseline) > 0.99 over the last hour."""
    votes = [x for x in t.votes if x[0] > now - 3600.0]
    if len(votes) < s.feedback_min_votes:
        return Signal(name="feedback", weight=WEIGHTS["feedback"])
    down = sum(1 for x in votes if x[1] == 0.0)
    base = t.down_votes.rate(0.01)
    p = beta_exceeds(down, len(votes) - down, min(s.feedback_warn_factor * base, 0.99))
    if p <= s.feedback_confidence:
        return Signal(name="feedback", weight=WEIGHTS["feedback"])
    return Signal(name="feedback", severity=1, reset=False, weight=WEIGHTS["feedback"],
                  reason=f"thumbs-down {down}/{len(votes)} in 1 h vs baseline {base:.0%}")
