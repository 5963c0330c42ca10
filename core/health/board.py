"""Every target's :class:`~core.health.tracker.Tracker`, fed in one place (one per worker process).

The board is the pure core of the in-process health cache: ``observe``/``vote`` feed outcomes
(from this worker at once, from other workers through the database), ``tick`` runs timers,
``views`` is what planning reads. Settings come from a resolver so a config reload applies to the
next evaluation. Transition notes are kept (last ``keep_events``) for the CLI and the benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pydantic import BaseModel

from core.config import SwitchyardConfig
from core.health.settings import HealthSettings, merged
from core.health.signals import Observation, Vote
from core.health.tracker import Tracker
from core.health.view import TargetView


class Event(BaseModel):
    """A transition of one target at ``at`` (unix s)."""

    at: float
    target: str
    note: str


def settings_for(cfg: SwitchyardConfig, target: str) -> HealthSettings:
    """Effective settings of ``target``: the config's global ``health`` block, then the target's own
    ``health`` overrides (a target no longer in the config gets the global block)."""
    try:
        override = cfg.target(target).health
    except KeyError:
        override = None
    return merged(cfg.health, override)


class HealthBoard:
    """Trackers by target id. ``settings``: target -> settings; ``rng``: jitter draws."""

    def __init__(self, settings: Callable[[str], HealthSettings], *, rng: random.Random | None = None,
                 keep_events: int = 2000) -> None:
        self._settings = settings
        self._rng = rng or random.Random()
        self.trackers: dict[str, Tracker] = {}
        self.events: list[Event] = []
        self._keep = keep_events

    def tracker(self, target: str) -> Tracker:
        t = self.trackers.get(target)
        if t is None:
            t = self.trackers[target] = Tracker.new(target, self._settings(target))
        return t

    def observe(self, obs: Observation) -> list[str]:
        """Feed one outcome; returns transition notes."""
        notes = self.tracker(obs.target).observe(obs, self._settings(obs.target), self._rng)
        return self._record(obs.at, obs.target, notes)

    def vote(self, v: Vote) -> list[str]:
        notes = self.tracker(v.target).vote(v, self._settings(v.target))
        return self._record(v.at, v.target, notes)

    def tick(self, now: float) -> list[Event]:
        """Run every target's timers; returns the new events."""
        out: list[Event] = []
        for target, t in self.trackers.items():
            for note in self._record(now, target, t.evaluate(now, self._settings(target))):
                out.append(Event(at=now, target=target, note=note))
        return out

    def views(self, now: float, targets: list[str] | None = None) -> dict[str, TargetView]:
        """Published health of ``targets`` (default: every target seen); unseen targets are healthy."""
        ids = targets if targets is not None else list(self.trackers)
        out = {}
        for target in ids:
            t = self.trackers.get(target)
            s = self._settings(target)
            out[target] = t.view(now, s) if t else TargetView(target=target, updated_at=now, enforced=s.enforce)
        return out

    def restore(self, target: str, state: dict) -> None:
        """Replace a tracker with a saved one (``Tracker.model_dump(mode="json")``)."""
        self.trackers[target] = Tracker.model_validate(state)

    def _record(self, now: float, target: str, notes: list[str]) -> list[str]:
        self.events.extend(Event(at=now, target=target, note=n) for n in notes)
        if len(self.events) > self._keep:
            del self.events[: len(self.events) - self._keep]
        return notes
