"""Detector severities -> one health level per target, with corroboration and hysteresis (R4).

Severity per detector: 0 healthy, 1 warn, 2 degraded, 3 severe (R4.1). The level is the maximum,
except that a *statistical* severity >= 2 that its detector did not confirm with a second window
counts as warn until another detector is at least warn or the alarm has held ``corroborate_s``
(R4.2). Hard rules and self-confirmed detectors (error rate and latency, which each AND a long
and a short window, SRE Workbook style) act at once. Going up is immediate; going down is one
level at a time, only while every detector has reset (statistic below h/2, R4.4) and after a dwell.

Score (R4.3): degradation ``D = 1 - prod(1 - w_i * s_i / 3)``; the published health score is
``1 - D`` (1 = perfect).
"""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, Field


class Level(IntEnum):
    HEALTHY = 0
    WARN = 1
    DEGRADED = 2
    SEVERE = 3


class Signal(BaseModel):
    """One detector's verdict at an evaluation."""

    name: str
    severity: int = 0
    reason: str = ""
    reset: bool = True
    statistical: bool = True
    confirmed: bool = False
    weight: float = 1.0


def score(signals: list[Signal]) -> float:
    """Health score ``1 - D`` in [0, 1] (R4.3)."""
    keep = 1.0
    for s in signals:
        keep *= 1.0 - min(1.0, s.weight * s.severity / 3.0)
    return keep


class LevelState(BaseModel):
    """The level with its hysteresis memory. ``alarm_since``: detector -> first time it was >= 2."""

    level: Level = Level.HEALTHY
    since: float = 0.0
    calm_since: float | None = None
    alarm_since: dict[str, float] = Field(default_factory=dict)

    def effective(self, now: float, signals: list[Signal], corroborate_s: float) -> list[tuple[Signal, int]]:
        """Each signal with its severity after the corroboration rule."""
        for s in signals:
            if s.severity >= 2:
                self.alarm_since.setdefault(s.name, now)
            else:
                self.alarm_since.pop(s.name, None)
        out = []
        for s in signals:
            sev = s.severity
            if sev >= 2 and s.statistical and not s.confirmed:
                others = any(o.severity >= 1 for o in signals if o.name != s.name)
                held = now - self.alarm_since.get(s.name, now) >= corroborate_s
                sev = sev if others or held else 1
            out.append((s, sev))
        return out

    def update(self, now: float, signals: list[Signal], corroborate_s: float, dwell_s: float) -> str | None:
        """Move the level; returns a transition note or ``None``."""
        raw = max((sev for _, sev in self.effective(now, signals, corroborate_s)), default=0)
        if raw > self.level:
            old, self.level, self.since, self.calm_since = self.level, Level(raw), now, None
            return f"{old.name.lower()} -> {self.level.name.lower()}"
        if raw == self.level or not all(s.reset for s in signals):
            self.calm_since = None
            return None
        if self.calm_since is None:
            self.calm_since = now
        if now - self.calm_since < dwell_s:
            return None
        old, self.level, self.since, self.calm_since = self.level, Level(self.level - 1), now, now
        return f"{old.name.lower()} -> {self.level.name.lower()} after {dwell_s:g} s calm"
