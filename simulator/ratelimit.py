"""Per-target request-rate limiting over a sliding 60-second window of real time.

``rate_limit_rpm`` (scenario README): above it, requests get a 429 with the provider's own rate-limit
body and headers. Only admitted requests enter the window, so a client that keeps hammering is not
locked out for longer than the window. Even without a limit the window is tracked, so rate-limit
headers on successful answers can show plausible remaining counts.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60.0
NOMINAL_RPM = 10_000  # what headers report when the scenario sets no limit


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one admission check: limit, what is left, and seconds until a slot frees up."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float


class SlidingWindow:
    """Timestamps of admitted requests per key, kept for :data:`WINDOW_S` seconds."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._seen: dict[str, deque[float]] = {}

    def admit(self, key: str, limit: int | None) -> RateDecision:
        """Admit one request for ``key`` unless ``limit`` requests were admitted in the last window."""
        now = self._monotonic()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - WINDOW_S:
            seen.popleft()
        cap = limit if limit is not None else NOMINAL_RPM
        reset = (seen[0] + WINDOW_S - now) if seen else 0.0
        if len(seen) >= cap:
            return RateDecision(False, cap, 0, max(reset, 0.001))
        seen.append(now)
        reset = seen[0] + WINDOW_S - now
        return RateDecision(True, cap, cap - len(seen), max(reset, 0.001))

    def clear(self) -> None:
        """Forget every admitted request."""
        self._seen.clear()
