"""Eval runs and failover drills: their inputs, the measured answers and the pass/fail verdicts.

Both run as ``DrillWorkflow`` (``workflows/drill.py``), one request workflow per (target, case)
forced to that target (``RequestInput.force_target``):

- **eval** (``switchyard eval``): every target of the route's chain answers every case; each
  target gets a :class:`TargetSummary` (mean score, success rate, format, length, p50/p95 latency)
  and the targets are ranked by mean score.
- **drill** (``switchyard drill``, the drill schedule): the primary and each backup answer the
  same cases; each backup's summary is compared with the primary's (:func:`verdict`) against the
  route's ``drill:`` thresholds (``core/drill_config.py``) and passes or fails, with reasons.

Units: latencies in ms (the answering attempt's provider call), scores and shares in 0..1, times
in unix seconds. Pure: no I/O.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.chat import ChatResponse
from core.drill_config import DrillConfig
from core.eval_checks import Checks, EvalCase, check_results
from core.quality import check_answer
from core.stats import percentile

TrialKind = Literal["eval", "drill"]
Role = Literal["primary", "backup", "target"]
ScoredBy = Literal["checks", "judge", "heuristics", "failed"]

#: Tenant of drill and eval requests (their outcome rows and search attributes say so).
TRIAL_TENANT = "switchyard-drill"

#: Prompts of a drill when the route names no prompts file: ordinary support-style questions, each
#: with a check on a word any sound answer uses.
BUILTIN_CASES: tuple[EvalCase, ...] = tuple(EvalCase(id=f"sample-{i}", prompt=p, checks=Checks(contains=[w]))
                                            for i, (p, w) in enumerate((
    ("Where is my refill order NW-48213 and when will it arrive?", "refill"),
    ("Summarise the cancellation terms of a monthly subscription in two sentences.", "cancellation"),
    ("Explain how to reset a forgotten account password.", "password"),
    ("What should a customer do when a delivered parcel is damaged?", "parcel"),
    ("Draft a short apology for a delayed shipment.", "shipment"),
    ("List the documents needed to open a business account.", "documents"),
), start=1))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrialInput(_Model):
    """Input of one eval run or drill of ``route``.

    ``targets``: eval: the targets to evaluate (default: the whole chain); drill: the backups to
    drill (default: every backup; the primary always runs for comparison). ``cases``: the prompts
    (default: the route's ``drill.prompts`` file, else :data:`BUILTIN_CASES`); ``count``: how many
    of them (default: all for eval, ``drill.count`` for a drill). ``judge_target``: overrides the
    route's ``drill.judge_target``. ``parallel``: requests in flight at once. ``live_share``: a
    drill on **live traffic** instead: for ``live_s`` seconds per backup, that share of the route's
    live requests puts the backup first (``core/canary.py`` :class:`~core.canary.LiveDrill`), and
    its live outcomes in the window are compared with the primary's (no prompts are sent);
    ``None``: the route's ``drill.live_share`` (a synthetic drill when unset), 0: synthetic
    whatever the route says. ``live_s``: ``None``: the route's ``drill.live_seconds``.
    """

    route: str
    kind: TrialKind = "drill"
    targets: list[str] | None = None
    cases: list[EvalCase] | None = None
    count: int | None = Field(default=None, ge=1, le=500)
    judge_target: str | None = None
    parallel: int = Field(default=4, ge=1, le=64)
    live_share: float | None = Field(default=None, ge=0, le=1)
    live_s: float | None = Field(default=None, gt=0, le=86_400)


class TrialSpec(_Model):
    """What the prepare activity resolved: the targets in run order (a drill's primary first), the
    cases, the judge and the thresholds."""

    route: str
    kind: TrialKind
    primary: str
    targets: list[str]
    cases: list[EvalCase]
    judge_target: str | None = None
    thresholds: DrillConfig = Field(default_factory=DrillConfig)
    parallel: int = 4
    live_share: float | None = None
    live_s: float = 60.0


class Sample(_Model):
    """One answer measured: ``score`` 0..1 (``scored_by`` says how), ``checks`` each check's
    result, ``flags`` the quality flags (``core/quality.py``), ``chars`` the answer's length."""

    target: str
    case_id: str
    workflow_id: str
    ok: bool
    error_class: str | None = None
    latency_ms: float = 0.0
    chars: int = 0
    flags: list[str] = Field(default_factory=list)
    checks: dict[str, bool] = Field(default_factory=dict)
    judge_score: float | None = None
    score: float = 0.0
    scored_by: ScoredBy = "failed"


class TargetSummary(_Model):
    """One target's figures over its samples (``None`` where it has no answers)."""

    target: str
    role: Role
    rank: int = 0
    samples: int = 0
    answered: int = 0
    success_rate: float = 0.0
    mean_score: float = 0.0
    format_ok: float | None = None
    mean_chars: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    judge_mean: float | None = None


class Verdict(_Model):
    """A backup's drill result: ``passed`` and, when not, each threshold it missed."""

    target: str
    passed: bool
    score_ratio: float | None = None
    latency_ratio: float | None = None
    reasons: list[str] = Field(default_factory=list)


class TrialReport(_Model):
    """The result of one eval run or drill (the workflow's result, stored by the record activity)."""

    run_id: str
    route: str
    kind: TrialKind
    created_at: float
    primary: str
    judge_target: str | None = None
    thresholds: DrillConfig = Field(default_factory=DrillConfig)
    summaries: list[TargetSummary] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    samples: list[Sample] = Field(default_factory=list)
    live: bool = False  # a drill on live traffic (no samples: the window's outcomes)

    @property
    def passed(self) -> bool:
        """True when no backup failed (an eval always passes)."""
        return all(v.passed for v in self.verdicts)

    def failed_targets(self) -> list[str]:
        """The backups that failed the drill, in drill order."""
        return [v.target for v in self.verdicts if not v.passed]


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else x


def summarise(target: str, role: Role, samples: list[Sample]) -> TargetSummary:
    """A target's :class:`TargetSummary`; a failed request scores 0 and counts in ``samples``."""
    answered = [s for s in samples if s.ok]
    lat = [s.latency_ms for s in answered]
    judged = [s.judge_score for s in answered if s.judge_score is not None]
    n = len(samples)
    return TargetSummary(
        target=target, role=role, samples=n, answered=len(answered),
        success_rate=len(answered) / n if n else 0.0,
        mean_score=sum(s.score for s in samples) / n if n else 0.0,
        format_ok=sum(not s.flags for s in answered) / len(answered) if answered else None,
        mean_chars=sum(s.chars for s in answered) / len(answered) if answered else None,
        latency_p50_ms=_nan_none(percentile(lat, 50)), latency_p95_ms=_nan_none(percentile(lat, 95)),
        judge_mean=sum(judged) / len(judged) if judged else None)


def verdict(primary: TargetSummary, backup: TargetSummary, t: DrillConfig) -> Verdict:
    """Compare a backup with the primary: mean score at least ``min_score_ratio`` x the primary's
    (or at least ``min_score`` when the primary scored 0), p95 latency at most
    ``max_latency_ratio`` x the primary's (or at most ``latency_slack_ms`` above it: a few ms
    between fast targets is noise, not a failure), success rate at least ``min_success_rate``."""
    reasons: list[str] = []
    if backup.success_rate < t.min_success_rate:
        reasons.append(f"success rate {backup.success_rate:.0%} < {t.min_success_rate:.0%}")
    score_ratio = backup.mean_score / primary.mean_score if primary.mean_score > 0 else None
    if score_ratio is not None and score_ratio < t.min_score_ratio:
        reasons.append(f"score {backup.mean_score:.2f} is {score_ratio:.2f} x the primary's "
                       f"{primary.mean_score:.2f} < {t.min_score_ratio:g}")
    elif score_ratio is None and backup.mean_score < t.min_score:
        reasons.append(f"score {backup.mean_score:.2f} < {t.min_score:g} (the primary scored 0)")
    latency_ratio = None
    if backup.latency_p95_ms is not None and primary.latency_p95_ms:
        latency_ratio = backup.latency_p95_ms / primary.latency_p95_ms
        gap = backup.latency_p95_ms - primary.latency_p95_ms
        if latency_ratio > t.max_latency_ratio and gap > t.latency_slack_ms:
            reasons.append(f"p95 latency {backup.latency_p95_ms:.0f} ms is {latency_ratio:.1f} x the primary's "
                           f"{primary.latency_p95_ms:.0f} ms > {t.max_latency_ratio:g} (and {gap:.0f} ms above it)")
    return Verdict(target=backup.target, passed=not reasons, score_ratio=score_ratio,
                   latency_ratio=latency_ratio, reasons=reasons)


def build_report(spec: TrialSpec, samples: list[Sample], run_id: str, now: float) -> TrialReport:
    """The report of a run: summaries in run order (eval: ranked by mean score, then success
    rate, then p50 latency) and, for a drill, one verdict per backup."""
    by_target = {t: [s for s in samples if s.target == t] for t in spec.targets}
    drill = spec.kind == "drill"
    summaries = [summarise(t, ("primary" if t == spec.primary else "backup") if drill else "target", ss)
                 for t, ss in by_target.items()]
    order = sorted(summaries, key=lambda s: (-s.mean_score, -s.success_rate, s.latency_p50_ms or math.inf))
    for rank, s in enumerate(order, start=1):
        s.rank = rank
    verdicts: list[Verdict] = []
    if drill:
        primary = next(s for s in summaries if s.role == "primary")
        verdicts = [verdict(primary, s, spec.thresholds) for s in summaries if s.role == "backup"]
    return TrialReport(run_id=run_id, route=spec.route, kind=spec.kind, created_at=now, primary=spec.primary,
                       judge_target=spec.judge_target, thresholds=spec.thresholds,
                       summaries=summaries if drill else order, verdicts=verdicts, samples=samples)


def answered_sample(case: EvalCase, target: str, workflow_id: str, response: ChatResponse | None,
                    latency_ms: float) -> Sample:
    """The sample of an answered request: length, quality flags, and the check score when the
    case has checks (``scored_by="checks"``); otherwise scored by the answer heuristics (1 without
    flags, 0 with) until a judge's score replaces it (:func:`with_judge`)."""
    text = response.text() if response is not None else ""
    flags = list(check_answer(case.request(), response)) if response is not None else ["empty"]
    base = Sample(target=target, case_id=case.id, workflow_id=workflow_id, ok=True, latency_ms=latency_ms,
                  chars=len(text), flags=flags)
    if case.has_checks():
        checks = check_results(case, text)
        return base.model_copy(update={"checks": checks, "score": sum(checks.values()) / len(checks),
                                       "scored_by": "checks"})
    return base.model_copy(update={"score": 0.0 if flags else 1.0, "scored_by": "heuristics"})


def with_judge(sample: Sample, judge_score: float | None) -> Sample:
    """The sample scored by the judge (its 0.1..1.0 score); unchanged when the judge gave none."""
    if judge_score is None:
        return sample
    return sample.model_copy(update={"judge_score": judge_score, "score": judge_score, "scored_by": "judge"})


def failed_sample(case: EvalCase, target: str, workflow_id: str, error_class: str) -> Sample:
    """The sample of a request the target did not answer: score 0."""
    return Sample(target=target, case_id=case.id, workflow_id=workflow_id, ok=False, error_class=error_class)


class LiveRow(_Model):
    """One live outcome of a drill window: answered, its latency (ms), quality-flagged."""

    ok: bool
    latency_ms: float = 0.0
    flagged: bool = False


def live_summary(target: str, role: Role, rows: list[LiveRow]) -> TargetSummary:
    """A target's summary over live outcomes: each answer without quality flags scores 1, a
    flagged answer or a failure 0 (no checks or judge on live traffic)."""
    answered = [r for r in rows if r.ok]
    lat = [r.latency_ms for r in answered]
    n = len(rows)
    return TargetSummary(
        target=target, role=role, samples=n, answered=len(answered), success_rate=len(answered) / n if n else 0.0,
        mean_score=sum(not r.flagged for r in answered) / n if n else 0.0,
        format_ok=sum(not r.flagged for r in answered) / len(answered) if answered else None,
        latency_p50_ms=_nan_none(percentile(lat, 50)), latency_p95_ms=_nan_none(percentile(lat, 95)))


class MeasureInput(_Model):
    """Input of the live-window measure activity: the route, its primary and the drilled backup,
    the window ``[start, end)`` in unix s."""

    route: str
    primary: str
    backup: str
    start: float
    end: float


def live_report(spec: TrialSpec, windows: list[tuple[TargetSummary, TargetSummary]], run_id: str,
                now: float) -> TrialReport:
    """The report of a live drill: per backup, its window's (primary, backup) summaries; the
    primary row shown is the first window's. A backup no live request reached fails."""
    verdicts = []
    for primary, backup in windows:
        v = verdict(primary, backup, spec.thresholds)
        if backup.samples == 0:
            v = v.model_copy(update={"passed": False, "reasons": ["no live request reached it in the window"]})
        verdicts.append(v)
    summaries = [windows[0][0]] + [b for _, b in windows] if windows else []
    return TrialReport(run_id=run_id, route=spec.route, kind="drill", created_at=now, primary=spec.primary,
                       thresholds=spec.thresholds, summaries=summaries, verdicts=verdicts, live=True)
