"""Sliding windows over recent outcomes.

- :class:`BucketWindow`: counts per 1 s bucket over the last ``span_s`` seconds (resilience4j's
  time-based window: totals are sums over at most ``span_s`` small buckets, R6.1).
- :class:`SampleWindow`: the last ``size`` values no older than ``span_s`` (short latency window).
"""

from __future__ import annotations

import statistics

from pydantic import BaseModel, Field


class BucketWindow(BaseModel):
    """``buckets``: ``[second, calls, failures, slow]`` oldest first."""

    buckets: list[list[float]] = Field(default_factory=list)

    def add(self, now: float, failed: bool, slow: bool, keep_s: float) -> None:
        """Count one call at ``now``; buckets older than ``keep_s`` are dropped."""
        sec = float(int(now))
        if not self.buckets or self.buckets[-1][0] != sec:
            self.buckets.append([sec, 0.0, 0.0, 0.0])
            while self.buckets and self.buckets[0][0] + 1 <= now - keep_s:
                self.buckets.pop(0)
        b = self.buckets[-1]
        b[1] += 1
        b[2] += failed
        b[3] += slow

    def totals(self, now: float, span_s: float) -> tuple[int, int, int]:
        """``(calls, failures, slow)`` of the buckets overlapping the last ``span_s`` seconds."""
        calls = fails = slow = 0
        for sec, c, f, s in self.buckets:
            if sec + 1 > now - span_s:
                calls, fails, slow = calls + int(c), fails + int(f), slow + int(s)
        return calls, fails, slow

    def clear(self) -> None:
        self.buckets.clear()


class SampleWindow(BaseModel):
    """``items``: ``[time, value]`` oldest first."""

    items: list[list[float]] = Field(default_factory=list)

    def add(self, now: float, value: float, size: int) -> None:
        self.items.append([now, value])
        if len(self.items) > size:
            del self.items[: len(self.items) - size]

    def values(self, now: float, span_s: float) -> list[float]:
        return [v for t, v in self.items if t > now - span_s]

    def median(self, now: float, span_s: float, min_samples: int) -> float | None:
        vals = self.values(now, span_s)
        return statistics.median(vals) if len(vals) >= min_samples else None

    def clear(self) -> None:
        self.items.clear()
