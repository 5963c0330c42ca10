"""Shapes of learning: outcome counts in, versioned rankings out, and a plan's record of its ranking.

Flow: the gather activity turns outcome rows into :class:`ArmStats` (one per task type and
target, with per-period :class:`PeriodCounts`) and the routes into :class:`RouteSpec`; the
learning workflow turns each route's spec and stats into a :class:`Ranking`
(``core/learning/rank.py``); the write activity gives it the next version of its task type;
planning applies it (``core/learning/reorder.py``) and records a :class:`RankingUse` in the plan.

Units: latencies in ms, costs in USD, unix seconds for times, shares in 0..1.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.config import LearningSettings, Objective


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeriodCounts(_Model):
    """Outcome counts of one (task type, target) in one period; ``age`` 0 is the latest period.

    Only outcomes learning may use: answers (``ok``) and failures that count against the target's
    health, seen while the target was healthy (degraded periods belong to health, R10.4).
    ``flagged``: answers with quality flags; ``votes_up``/``votes_down``: user feedback on answers;
    ``cost_usd``/``output_tokens``: summed over answers. ``eval_good``/``eval_bad``: eval runs' and
    drills' scores of the target in this period (``switchyard eval``/``drill``): the sum of the
    answers' scores (0..1 each) and of their complements, a quality signal beside the flags.
    """

    age: int = Field(ge=0)
    ok: int = 0
    failures: int = 0
    flagged: int = 0
    votes_up: int = 0
    votes_down: int = 0
    cost_usd: float = 0.0
    output_tokens: int = 0
    eval_good: float = 0.0
    eval_bad: float = 0.0


class ArmStats(_Model):
    """Everything the window says about one target on one task type.

    Percentiles are over the window's healthy answers (nearest rank; ``None`` without answers).
    ``left_to_health``: outcomes skipped because the target was degraded when they happened.
    """

    task_type: str
    target: str
    periods: list[PeriodCounts] = Field(default_factory=list)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    ttft_p50_ms: float | None = None
    left_to_health: int = 0


class ArmSpec(_Model):
    """One target of a route's chain as learning sees it (from the config; ``price_output`` in
    USD per 1M output tokens, ``context_window`` in tokens)."""

    target: str
    model_ref: str
    region: str
    capabilities: list[str] = Field(default_factory=list)
    context_window: int
    price_output: float


class RouteSpec(_Model):
    """One route to rank: its mode, objective and chain targets in configured order."""

    task_type: str
    mode: Literal["shadow", "on"]
    objective: Objective
    arms: list[ArmSpec]


class Figures(_Model):
    """The figures behind one target's score, over the window (``effective_samples`` discounted)."""

    samples: int = 0
    successes: int = 0
    success_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    ttft_p50_ms: float | None = None
    cost_per_success_usd: float | None = None
    quality_flag_rate: float | None = None
    feedback_score: float | None = None
    votes: int = 0
    eval_score: float | None = None  # mean eval/drill score over the window (0..1), not stored in ranking rows
    effective_samples: float = 0.0
    left_to_health: int = 0
    reset: list[str] = Field(default_factory=list)


class RankedTarget(_Model):
    """One target in a ranking.

    ``rank``: 1 = leader; 0 = not ranked (fails a hard constraint; ``why`` says which).
    ``score``: posterior mean of the objective, 0..1. ``p_best``: posterior probability of being
    the best target. ``share``: share of first positions planning gives it.
    """

    target: str
    rank: int = 0
    score: float | None = None
    p_best: float = 0.0
    share: float = 0.0
    why: str = ""
    figures: Figures = Field(default_factory=Figures)


class Ranking(_Model):
    """The ranking of one task type. ``version`` is assigned when it is written (1, 2, ...).

    ``targets``: ranked targets by rank, then unranked ones in configured order. ``mode``:
    ``on`` (planning applies it) or ``shadow`` (computed and shown only).
    """

    task_type: str
    version: int = 0
    mode: Literal["shadow", "on"] = "on"
    created_at: float
    run_id: str = ""
    pinned: list[str] = Field(default_factory=list)
    targets: list[RankedTarget] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def ranked(self) -> list[RankedTarget]:
        """The ranked targets, leader first."""
        return sorted((t for t in self.targets if t.rank > 0), key=lambda t: t.rank)

    def leader(self) -> str | None:
        """The rank-1 target, if any target is ranked."""
        ranked = self.ranked()
        return ranked[0].target if ranked else None


class RankingUse(_Model):
    """What one plan took from a ranking: which version, whether it was applied, the scores and
    shares of the targets it placed, and the target drawn for the first position."""

    task_type: str
    version: int
    mode: Literal["shadow", "on"]
    applied: bool
    scores: dict[str, float | None] = Field(default_factory=dict)
    shares: dict[str, float] = Field(default_factory=dict)
    first: str | None = None
    explored: bool = False


class LearningInput(_Model):
    """Input of one learning run. ``period_s``: overrides the config's period (benchmarks run a
    compressed clock); ``task_types``: rank only these (default: every route not ``learn: off``)."""

    period_s: float | None = Field(default=None, gt=0)
    task_types: list[str] | None = None


class GatherInput(_Model):
    """Input of the gather activity: ``now`` (unix s) ends the window."""

    now: float
    period_s: float | None = None
    task_types: list[str] | None = None


class Gathered(_Model):
    """What one run ranks: the routes and their stats by task type (the window ends at ``now``,
    unix s, and is cut into periods of ``period_s``)."""

    now: float
    period_s: float
    settings: LearningSettings
    routes: list[RouteSpec] = Field(default_factory=list)
    stats: dict[str, list[ArmStats]] = Field(default_factory=dict)


class WriteInput(_Model):
    """Rankings to store; ``run_id`` makes the write idempotent per task type."""

    run_id: str
    rankings: list[Ranking]


class LearningResult(_Model):
    """A run's outcome: the rankings written (with versions) and task types skipped, with why."""

    rankings: list[Ranking] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)
