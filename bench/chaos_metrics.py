"""Figures of one chaos run, computed the same way for every system from what the simulator saw
(calls per target, sampled every ``SAMPLE_S``) and what the callers saw (:class:`bench.load.Sample`).

Definitions (times in seconds from the start of the load; the simulator's incident clock is reset
at that moment, so a step ``at: 30s`` under ``time_scale`` s is at ``30 / time_scale``):

- **fault windows**: per target, from a ``set`` step to the next ``reset`` (``"*"`` applies to all).
- **call share**: a target's calls / all calls over the last ``WINDOW_S`` seconds (retries count:
  this is the load the target sees).
- **detection delay**: fault onset -> first time the faulty target's call share is below half of
  its share before the fault ("traffic shifted"); ``None`` if it never is.
- **failback**: end of the last fault -> first time the share is back to >= 80 % of the pre-fault
  share; ``None`` if it never is.
- **share to faulty after detection**: calls to faulty targets / all calls, from detection to the
  end of the faults.
- **false failovers** (fault-free runs): requests not answered by the primary.
- **thrash**: times the primary's call share crossed 50 % of its pre-fault share, either way.
- **cost vs no-fault**: total cost / (requests x mean cost of a primary answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load import Sample
from core.stats import percentile
from simulator.scenario import Scenario

SAMPLE_S = 0.5
WINDOW_S = 2.0


@dataclass
class Snapshot:
    """Cumulative simulator calls per target at ``at`` seconds."""

    at: float
    calls: dict[str, int]


@dataclass
class Figures:
    requests: int = 0
    failures: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    detection_s: float | None = None
    failback_s: float | None = None
    faulty_share_after_detection: float | None = None
    false_failovers: int | None = None
    thrash: int = 0
    cost_ratio: float | None = None
    bad_answers: int = 0
    notes: list[str] = field(default_factory=list)


def fault_windows(sc: Scenario, time_scale: float, horizon_s: float) -> dict[str, list[tuple[float, float]]]:
    """target -> [(start, end)] in real seconds (see module docstring)."""
    out: dict[str, list[tuple[float, float]]] = {}
    open_at: dict[str, float] = {}
    for step in sorted(sc.timeline, key=lambda s: s.at_s):
        t = step.at_s / time_scale
        targets = list(sc.targets) if step.target == "*" else [step.target]
        for target in targets:
            if step.reset and target in open_at:
                out.setdefault(target, []).append((open_at.pop(target), t))
            elif step.set_ is not None and target not in open_at:
                open_at[target] = t
    for target, start in open_at.items():
        out.setdefault(target, []).append((start, horizon_s))
    return out


def shares(snaps: list[Snapshot], target: str) -> list[tuple[float, float]]:
    """(time, call share of ``target`` over the last ``WINDOW_S``) per snapshot."""
    out = []
    j = 0
    for i, s in enumerate(snaps):
        while snaps[j].at < s.at - WINDOW_S:
            j += 1
        if j == i:
            continue
        total = sum(s.calls.values()) - sum(snaps[j].calls.values())
        mine = s.calls.get(target, 0) - snaps[j].calls.get(target, 0)
        if total > 0:
            out.append((s.at, mine / total))
    return out


def _first(series: list[tuple[float, float]], after: float, test) -> float | None:  # type: ignore[no-untyped-def]
    return next((t for t, v in series if t >= after and test(v)), None)


def figures(samples: list[Sample], snaps: list[Snapshot], windows: dict[str, list[tuple[float, float]]],
            primary: str, *, fault_free: bool) -> Figures:
    """All figures of one run (see module docstring)."""
    f = Figures(requests=len(samples), failures=sum(1 for s in samples if s.error))
    lat = [s.latency_s * 1000 for s in samples]
    if lat:
        f.p50_ms, f.p95_ms, f.p99_ms = (percentile(lat, q) for q in (50, 95, 99))
    answered = [s for s in samples if s.reply]
    primary_costs = [s.reply.cost_usd for s in answered if s.reply.target == primary and s.reply.cost_usd > 0]
    if primary_costs and answered:
        unit = sum(primary_costs) / len(primary_costs)
        f.cost_ratio = sum(s.reply.cost_usd for s in answered) / (len(samples) * unit)
    series = shares(snaps, primary)
    if fault_free:
        f.false_failovers = sum(1 for s in answered if s.reply.target != primary)
        return f
    start, end = _fault_span(windows)
    pre = [v for t, v in series if t < start] or [1.0]
    base = sum(pre) / len(pre)
    faulty = windows.get(primary) and primary
    if faulty:
        det = _first(series, start, lambda v: v < base / 2)
        f.detection_s = None if det is None or det > end else det - start
        back = _first(series, end, lambda v: v >= 0.8 * base)
        f.failback_s = None if back is None else back - end
        low = [v < base / 2 for _, v in series]
        f.thrash = sum(1 for a, b in zip(low, low[1:], strict=False) if a != b)
        if det is not None and det < end:
            f.faulty_share_after_detection = _window_share(snaps, list(windows), det, end)
    return f


def _fault_span(windows: dict[str, list[tuple[float, float]]]) -> tuple[float, float]:
    spans = [w for ws in windows.values() for w in ws]
    return min(s for s, _ in spans), max(e for _, e in spans)


def _window_share(snaps: list[Snapshot], targets: list[str], start: float, end: float) -> float:
    a = next((s for s in snaps if s.at >= start), snaps[-1])
    b = next((s for s in reversed(snaps) if s.at <= end), snaps[-1])
    total = sum(b.calls.values()) - sum(a.calls.values())
    bad = sum(b.calls.get(t, 0) - a.calls.get(t, 0) for t in targets)
    return bad / total if total > 0 else 0.0
