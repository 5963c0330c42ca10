"""Apply health to a plan's order (RESILIENCE.md R5): shares, last-resort demotion, panic rule.

For each request one ``draw`` in [0, 1) (a hash of the workflow id, so a retried planning step
decides the same way) is compared with each target's share: ``draw < share`` keeps the target in
its chain position; otherwise it moves behind every kept target (it stays in the plan as a last
resort, so a request is never left with nothing to try). Demoted targets keep chain order among
themselves after sorting by state (degraded before down) and score.

Panic (R5.6, Envoy panic threshold, Portkey "all open -> bypass"): when every target would be
demoted (all degraded or worse), nothing is shifted away: the first target is drawn in proportion
to the health scores (1 - D, at least 0.01 so an all-open route still tries its least-bad target
first) and the rest follow by score. This is also the "never open every target" guarantee (Envoy
max ejection): the least-bad target always stays reachable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from core.health.view import TargetView

_RANK = {"healthy": 0, "degraded": 1, "down": 2}


class Entry(Protocol):
    target: str
    reasons: list[str]
    health: str
    share: float
    score: float
    breaker: str


def _describe(v: TargetView) -> str:
    why = f" ({'; '.join(v.reasons[:3])})" if v.reasons else ""
    return f"health {v.state}, score {v.score:.2f}, breaker {v.breaker}, share {v.share:.0%}{why}"


def apply_health(entries: list, views: Mapping[str, TargetView], draw: float) -> tuple[list, bool]:
    """Reorder ``entries`` (``core.plan.PlanEntry``) by health; returns ``(entries, panic)``.

    Views that are not enforced (observe-only mode) only annotate the entries."""
    kept, demoted = [], []
    for e in entries:
        v = views.get(e.target)
        if v is None:
            kept.append(e)
            continue
        e.health, e.share, e.score, e.breaker = v.state, v.share, v.score, v.breaker
        if v.state != "healthy" or v.share < 1.0:
            e.reasons.append(_describe(v))
        if not v.enforced or draw < v.share:
            kept.append(e)
        else:
            e.reasons.append(f"draw {draw:.3f} >= share {v.share:.0%}: moved behind healthier targets")
            demoted.append(e)
    if not demoted:
        return kept, False
    if kept:
        demoted.sort(key=lambda e: (_RANK.get(e.health, 2), -e.score))
        return kept + demoted, False
    return _panic(demoted, draw), True


def _panic(entries: list, draw: float) -> list:
    weights = [max(e.score, 0.01) for e in entries]
    total = sum(weights)
    acc, first = 0.0, len(entries) - 1
    for i, w in enumerate(weights):
        acc += w / total
        if draw < acc:
            first = i
            break
    head = entries[first]
    rest = sorted((e for i, e in enumerate(entries) if i != first), key=lambda e: -e.score)
    head.reasons.append("panic: every target degraded or down; first drawn in proportion to health score")
    return [head, *rest]
