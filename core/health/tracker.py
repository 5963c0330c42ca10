"""Health of one target: every detector, the breaker, the level and the traffic share (R1-R6).

``observe(obs)`` feeds one outcome (user call or probe); ``evaluate(now)`` runs the time-driven
transitions; ``view(now)`` is what planning, the CLI and the learning layer read. Latency
detectors use user calls only (probes ask for a few tokens, so their latency is not comparable);
errors, breaker and quality use both. Baselines learn only while the target is healthy with its
breaker closed (R2.3). Serialisable (pydantic) so a restarted worker resumes the same state.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, Field

from core import quality_flags
from core.health.baseline import LogBaseline, RateBaseline
from core.health.breaker import Breaker, BreakerState
from core.health.detectors import GaussianCusum, PageHinkley
from core.health.levels import Level, LevelState, Signal, score
from core.health.rates import RateDetector
from core.health.settings import HealthSettings
from core.health.shares import ShareState
from core.health.signals import Kind, Observation, Vote
from core.health.verdicts import verdicts
from core.health.view import TargetView, public_state
from core.health.window import SampleWindow

Z95 = 1.645


def _rate_kwargs(s: HealthSettings, quality: bool) -> dict:
    return {"floor": s.rate_floor, "p1_factor": s.quality_p1_factor if quality else s.error_p1_factor,
            "p1_floor": s.quality_p1_floor if quality else s.error_p1_floor,
            "h": s.quality_cusum_h if quality else s.error_cusum_h, "cap_factor": s.cusum_cap_factor,
            "half_life_s": s.baseline_half_life_s, "keep_s": s.error_confirm_window_s}


class Tracker(BaseModel):
    """All health state of ``target`` (see module docstring)."""

    target: str
    latency: LogBaseline = Field(default_factory=LogBaseline)
    lat_cusum: GaussianCusum = Field(default_factory=GaussianCusum)
    recent: SampleWindow = Field(default_factory=SampleWindow)
    errors: RateDetector
    quality: dict[str, RateDetector]
    tokens: LogBaseline = Field(default_factory=LogBaseline)
    tokens_ph: PageHinkley = Field(default_factory=PageHinkley)
    tokens_alarm_at: float | None = None
    votes: list[list[float]] = Field(default_factory=list)
    down_votes: RateBaseline = Field(default_factory=lambda: RateBaseline(mean=0.1, weight=20.0, count=20))
    consecutive: int = 0
    timeouts: int = 0
    breaker: Breaker = Field(default_factory=Breaker)
    levels: LevelState = Field(default_factory=LevelState)
    shares: ShareState = Field(default_factory=ShareState)
    last_seen: float | None = None
    last_user: float | None = None
    notes: list[list] = Field(default_factory=list)  # [time, note], last 20 transitions

    @classmethod
    def new(cls, target: str, s: HealthSettings) -> Tracker:
        prior = lambda: RateDetector.with_prior(s.rate_floor, s.baseline_warmup)  # noqa: E731
        return cls(target=target, errors=prior(), quality={f: prior() for f in quality_flags.ALL})

    def healthy(self) -> bool:
        return self.levels.level is Level.HEALTHY and self.breaker.state is BreakerState.CLOSED

    def slow_threshold_ms(self, s: HealthSettings) -> float | None:
        """Slow-call threshold: max(3 x baseline p95, floor) (R6.1); ``None`` before warm-up."""
        if not self.latency.ready(s.baseline_warmup):
            return None
        return max(s.slow_call_p95_factor * self.latency.quantile(Z95, s.latency_sigma_floor), s.slow_call_floor_ms)

    def observe(self, obs: Observation, s: HealthSettings, rng: random.Random) -> list[str]:
        """Feed one outcome; returns transition notes."""
        if obs.kind is Kind.IGNORED or obs.kind is Kind.CAPACITY:
            return []
        now = obs.at
        self.last_seen = max(self.last_seen or now, now)
        if not obs.probe:
            self.last_user = max(self.last_user or now, now)
        self.shares.samples += 1
        learn = self.healthy()
        self.consecutive = self.consecutive + 1 if obs.failed else 0
        self.timeouts = self.timeouts + 1 if obs.timeout else 0
        self.errors.add(now, obs.failed, learn=learn, **_rate_kwargs(s, False))
        slow = False
        if obs.kind is Kind.OK:
            self._quality(obs, learn, s)
            slow = self._latency(obs, learn, s)
        elif obs.timeout:
            slow = True
        notes = [n for n in [self.breaker.record(obs, slow, s, rng.random())] if n]
        if self.breaker.state is BreakerState.CLOSED and any(n.startswith("closed") for n in notes):
            self._after_close(now)
        return self._log(now, notes) + self.evaluate(now, s)

    def _after_close(self, now: float) -> None:
        """Half-open trials passed: they are the recovery evidence for hard failures, so the error
        detectors start afresh and a severe level counts as degraded (one hysteresis step taken)."""
        self.errors.clear()
        self.consecutive = self.timeouts = 0
        if self.levels.level is Level.SEVERE:
            self.levels.level, self.levels.since, self.levels.calm_since = Level.DEGRADED, now, None

    def _quality(self, obs: Observation, learn: bool, s: HealthSettings) -> None:
        for flag, det in self.quality.items():
            det.add(obs.at, flag in obs.flags, learn=learn, **_rate_kwargs(s, True))

    def _latency(self, obs: Observation, learn: bool, s: HealthSettings) -> bool:
        if obs.probe or obs.latency_ms is None:
            return False
        threshold = self.slow_threshold_ms(s)
        if self.latency.ready(s.baseline_warmup):
            z = self.latency.z(obs.latency_ms, s.latency_sigma_floor)
            self.lat_cusum.update(min(z, s.winsor_sigma), s.latency_cusum_k, s.cusum_cap_factor * s.latency_cusum_h)
        self.recent.add(obs.at, obs.latency_ms, s.latency_confirm_samples)
        if learn:
            self.latency.add(obs.latency_ms, obs.at, s.baseline_half_life_s, s.baseline_warmup, s.winsor_sigma)
        self._tokens(obs, learn, s)
        return threshold is not None and obs.latency_ms > threshold

    def _tokens(self, obs: Observation, learn: bool, s: HealthSettings) -> None:
        if not obs.output_tokens or quality_flags.EMPTY in obs.flags:
            return
        if self.tokens.ready(s.tokens_min_samples):
            self.tokens_ph.update(self.tokens.z(obs.output_tokens, 0.1), s.tokens_ph_delta)
        if learn or self.levels.level <= Level.WARN:  # drift is often legitimate (R3.5): keep learning
            self.tokens.add(obs.output_tokens, obs.at, s.baseline_half_life_s, s.tokens_min_samples, s.winsor_sigma)

    def vote(self, v: Vote, s: HealthSettings) -> list[str]:
        """Count one thumbs up/down (R3.6) and re-evaluate."""
        self.votes.append([v.at, 1.0 if v.positive else 0.0])
        self.votes = [x for x in self.votes if x[0] > v.at - 3600.0]
        if self.healthy():
            self.down_votes.update(0.0 if v.positive else 1.0, v.at, 3600.0, 0, 1e9)
        return self.evaluate(v.at, s)

    def evaluate(self, now: float, s: HealthSettings) -> list[str]:
        """Time-driven transitions: breaker timers, level with hysteresis, traffic share."""
        notes = [n for n in [self.breaker.tick(now, s)] if n]
        sigs = self.signals(now, s)
        relapses = self.breaker.relapses
        lvl = self.levels.update(now, sigs, s.corroborate_s, s.state_dwell_s * (1 + relapses))
        if lvl:
            notes.append(lvl)
            if self.levels.level is Level.HEALTHY:
                self._fresh_start()
        ratio = self.latency_ratio(now, s, s.latency_confirm_min_samples)  # last 5: sparse at low shares
        share = self.shares.update(now, self.levels.level, self.breaker.state, self.breaker.share_cap(s),
                                   ratio is None or ratio < s.ramp_max_latency_ratio, relapses, s)
        return self._log(now, notes + ([share] if share else []))

    def _fresh_start(self) -> None:
        self.lat_cusum.s = 0.0
        self.errors.clear()
        for det in self.quality.values():
            det.clear()

    def latency_ratio(self, now: float, s: HealthSettings, last: int) -> float | None:
        """Median of the last ``last`` user latencies (within the confirm window) / baseline median."""
        if not self.latency.ready(s.baseline_warmup):
            return None
        vals = self.recent.values(now, s.latency_confirm_window_s)[-last:]
        if len(vals) < s.latency_confirm_min_samples:
            return None
        vals.sort()
        mid = len(vals) // 2
        med = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
        return med / self.latency.median()

    def signals(self, now: float, s: HealthSettings) -> list[Signal]:
        """Every detector's verdict now (see ``core/health/levels.py``)."""
        return verdicts(self, now, s)

    def view(self, now: float, s: HealthSettings) -> TargetView:
        """What planning and the CLI read."""
        sigs = self.signals(now, s)
        reasons = [sig.reason for sig in sigs if sig.severity > 0 and sig.reason]
        if self.breaker.state is not BreakerState.CLOSED:
            reasons.insert(0, f"breaker {self.breaker.state.value} (opened on {self.breaker.reason})")
        sc = 0.0 if self.breaker.state is BreakerState.OPEN else score(sigs)
        return TargetView(target=self.target, state=public_state(self.levels.level, self.breaker.state),
                          level=self.levels.level.name.lower(), score=round(sc, 3),
                          breaker=self.breaker.state.value, share=self.shares.share, reasons=reasons,
                          updated_at=now, last_seen=self.last_seen, relapses=self.breaker.relapses,
                          open_until=self.breaker.open_until if self.breaker.state is BreakerState.OPEN else None,
                          baseline_p50_ms=round(self.latency.median(), 1) if self.latency.count else None,
                          enforced=s.enforce)

    def _log(self, now: float, notes: list[str]) -> list[str]:
        for n in notes:
            self.notes.append([now, n])
        del self.notes[:-20]
        return notes

