"""The published health of one target: what planning, ``switchyard health`` and the learning layer read.

Pure data: importable inside workflows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from core.health.breaker import BreakerState
from core.health.levels import Level

State = Literal["healthy", "degraded", "down"]


def public_state(level: Level, breaker: BreakerState) -> State:
    """``down``: breaker open or level severe; ``degraded``: level degraded or breaker half-open;
    else ``healthy`` (a warn level shows in the reasons only)."""
    if breaker is BreakerState.OPEN or level is Level.SEVERE:
        return "down"
    if breaker is BreakerState.HALF_OPEN or level is Level.DEGRADED:
        return "degraded"
    return "healthy"


class TargetView(BaseModel):
    """Health of ``target`` at ``updated_at`` (unix s).

    ``score``: 1 - D of RESILIENCE.md R4.3 (1 = perfect, 0 = breaker open). ``share``: fraction of
    new requests that keep the target in its chain position. ``level``: healthy | warn | degraded |
    severe. ``breaker``: closed | open | half_open. ``open_until``: unix s the open wait ends.
    ``enforced``: False in observe-only mode (planning ignores this view).
    """

    target: str
    state: State = "healthy"
    level: str = "healthy"
    score: float = 1.0
    breaker: str = "closed"
    share: float = 1.0
    reasons: list[str] = Field(default_factory=list)
    updated_at: float = 0.0
    last_seen: float | None = None
    relapses: int = 0
    open_until: float | None = None
    baseline_p50_ms: float | None = None
    enforced: bool = True
