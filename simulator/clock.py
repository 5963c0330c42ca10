"""The incident clock: real elapsed seconds times ``time_scale``, restartable.

Scenario ``at`` times (README "Format") run on this clock; latencies and stalls do not (they are real
milliseconds). ``now()`` returns incident seconds since the incident started; ``restart(at=600)``
starts the incident again as if 10 incident minutes had already passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class IncidentClock:
    """Incident seconds = ``offset + (monotonic() - started) * time_scale``."""

    def __init__(self, time_scale: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self._monotonic = monotonic
        self._scale = float(time_scale)
        self._offset = 0.0
        self._started = monotonic()

    @property
    def time_scale(self) -> float:
        """Incident seconds per real second."""
        return self._scale

    def now(self) -> float:
        """Incident seconds elapsed since the (re)start, plus the start offset."""
        return self._offset + (self._monotonic() - self._started) * self._scale

    def restart(self, at: float = 0.0, time_scale: float | None = None) -> None:
        """Start the incident again at incident time ``at`` seconds, optionally with a new scale."""
        if time_scale is not None:
            if time_scale <= 0:
                raise ValueError(f"time_scale must be > 0, got {time_scale}")
            self._scale = float(time_scale)
        self._offset = max(0.0, float(at))
        self._started = self._monotonic()
