"""The simulated world: one scenario, its incident clock, live steps, random streams, counters.

A request is mapped to a target ``protocol/model@region``: with a region prefix (``/r/{region}/...``)
exactly; without one, the first target in the scenario file with that protocol and model.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from simulator.behaviour import Plan, draw_plan
from simulator.clock import IncidentClock
from simulator.ratelimit import RateDecision, SlidingWindow
from simulator.received import ReceivedLog
from simulator.scenario import Scenario, Step, StepChange, parse_target_id
from simulator.stats import Stats
from simulator.timeline import Effective, effective_at, next_step
from simulator.wire import ConnectionRegistry


@dataclass(frozen=True)
class RequestTraits:
    """What the draws need to know about a request."""

    stream: bool
    json_asked: bool
    task_type: str | None


class World:
    """Mutable simulator state shared by the HTTP handlers and the ``/_sim`` control API."""

    def __init__(self, scenario: Scenario, *, time_scale: float | None = None) -> None:
        self.scenario = scenario
        self.clock = IncidentClock(time_scale or scenario.time_scale)
        self.stats = Stats()
        self.received = ReceivedLog()  # the last requests per target (GET /_sim/requests)
        self.window = SlidingWindow()
        self.live_steps: list[Step] = []
        self.closing = asyncio.Event()
        self.connections = ConnectionRegistry()  # live TCP connections, so resets can abort them
        self._index = [(t, *parse_target_id(t)) for t in scenario.targets]
        self._rngs: dict[str, random.Random] = {}
        self._seed_rngs()

    def _seed_rngs(self) -> None:
        self._rngs = {t: random.Random(f"{self.scenario.seed}:{t}") for t in self.scenario.targets}

    @property
    def targets(self) -> list[str]:
        """Target ids in scenario file order."""
        return list(self.scenario.targets)

    def find_target(self, protocol: str, model: str, region: str | None) -> str | None:
        """The target serving ``model`` over ``protocol`` (in ``region`` if given), or None."""
        for target, proto, mod, reg in self._index:
            if proto == protocol and mod == model and (region is None or reg == region):
                return target
        return None

    def models(self, protocol: str, region: str | None) -> list[str]:
        """Distinct model names served over ``protocol`` (in ``region`` if given), file order."""
        seen: dict[str, None] = {}
        for _, proto, mod, reg in self._index:
            if proto == protocol and (region is None or reg == region):
                seen[mod] = None
        return list(seen)

    def effective(self, target: str) -> Effective:
        """The target's behaviour right now on the incident clock."""
        return effective_at(self.scenario, target, self.clock.now(), self.live_steps)

    def rng(self, target: str) -> random.Random:
        """The target's own random stream."""
        return self._rngs[target]

    def quality(self, task_type: str | None, target: str) -> float | None:
        """The target's quality on this task type: a step's ``task_quality`` if one set it, else
        the task profile's, else None (no profile applies)."""
        if task_type is None:
            return None
        live = self.effective(target).task_quality.get(task_type)
        if live is not None:
            return live
        entry = self.scenario.task_profiles.get(task_type, {}).get(target)
        return entry.quality if entry else None

    def plan(self, target: str, traits: RequestTraits) -> tuple[Plan, RateDecision]:
        """Draw one request's fate and update the rate window."""
        eff = self.effective(target)
        rate = self.window.admit(target, eff.rate_limit_rpm)
        plan = draw_plan(self.rng(target), eff, stream=traits.stream, json_asked=traits.json_asked,
                         quality=self.quality(traits.task_type, target), rate_limited=not rate.allowed)
        return plan, rate

    def apply(self, change: StepChange) -> Step:
        """Apply a step now (at the current incident time); it stays until a later step or a reset."""
        if change.target != "*" and change.target not in self.scenario.targets:
            raise KeyError(change.target)
        step = Step.model_validate({**change.model_dump(by_alias=True, exclude_unset=True),
                                    "at": f"{self.clock.now():.6f}s"})
        self.live_steps.append(step)
        return step

    def reset(self, at: float = 0.0, time_scale: float | None = None) -> None:
        """Restart the incident (optionally at incident time ``at`` seconds); forget live steps,
        rate windows and counters; reseed every random stream."""
        self.clock.restart(at, time_scale)
        self.live_steps.clear()
        self.window.clear()
        self.stats.clear()
        self.received.clear()
        self._seed_rngs()

    def state(self) -> dict:
        """Incident time and effective settings per target (``GET /_sim/state``)."""
        now = self.clock.now()
        upcoming = next_step(self.scenario, now)
        return {
            "scenario": self.scenario.name,
            "incident_time_s": round(now, 3),
            "time_scale": self.clock.time_scale,
            "live_steps": len(self.live_steps),
            "next_step": None if upcoming is None else upcoming.model_dump(by_alias=True, exclude_unset=True),
            "targets": {t: self.effective(t).as_json() for t in self.targets},
        }
