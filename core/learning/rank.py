"""The ranking of one route from its outcome stats: constraints, discounted Thompson sampling, shares.

Steps (RESILIENCE.md R10):

1. **Constraints** filter, never penalise (R10.2): a target over the cost ceiling (its configured
   output price), lacking a required capability, with too small a context window or outside the
   allowed regions is not ranked (it stays a last-resort fallback; ``core/learning/reorder.py``).
2. **Evidence** per target and signal, discounted with a change-point reset
   (``core/learning/evidence.py``): success (answers vs failures that count against the target),
   quality (answers without quality flags, plus the scores of eval runs and drills: an answer
   scored 0.7 counts 0.7 good and 0.3 bad) and feedback (thumbs up vs down; used only when the
   task type has votes in the window). Each posterior's prior leans on the same target's record
   on the route's other task types (``prior_strength`` pseudo-samples, partial pooling).
3. **Objective** per posterior draw, in 0..1: the weighted mean of ``success``, ``quality``
   (flag-free rate x approval rate), ``latency`` (``1 - p50 / slowest p50``) and ``cost``
   (``1 - cost per answer / dearest``). Latency and cost are relative to the route's other
   targets; a target without answers gets the mean of the others' (no information either way).
4. **Thompson sampling**: ``mc_samples`` joint draws give each target's probability of being the
   best, ``p_best``. Its **share** of first positions is ``p_best`` with a floor of
   ``exploration_floor`` per target (R10.3: 2%) and the non-leaders' total capped at
   ``max_exploration``. Few samples mean a wide posterior, so a target with 3 perfect answers
   gets exploration traffic but not the lead over one with 500 good ones.
5. **Order**: by share, then posterior mean score, then configured order; a pinned primary
   always goes first and gets every first position.

Pure and deterministic for a given ``seed``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from core.config import LearningSettings, Objective
from core.learning.evidence import Evidence, discounted, pooled_prior
from core.learning.model import ArmSpec, ArmStats, Figures, RankedTarget, Ranking, RouteSpec

SIGNALS = ("success", "quality", "feedback")


def constraint_violation(arm: ArmSpec, obj: Objective) -> str | None:
    """Why ``arm`` may not be ranked under ``obj``'s hard constraints, or ``None``."""
    ceiling = obj.cost_ceiling_usd_per_1m_output
    if ceiling is not None and arm.price_output > ceiling:
        return f"output price {arm.price_output:g} USD/1M tokens over the ceiling {ceiling:g}"
    missing = sorted(set(obj.required_capabilities) - set(arm.capabilities))
    if missing:
        return f"lacks required capability {', '.join(missing)}"
    if obj.min_context_window is not None and arm.context_window < obj.min_context_window:
        return f"context window {arm.context_window} < required {obj.min_context_window}"
    if obj.allowed_regions is not None and arm.region not in obj.allowed_regions:
        return f"region {arm.region} not allowed"
    return None


def is_pinned(arm: ArmSpec, obj: Objective) -> bool:
    """True when ``obj.pinned_primary`` names this target or its ``provider/model``."""
    return obj.pinned_primary in (arm.target, arm.model_ref)


def evidence(stats: ArmStats | None, settings: LearningSettings,
             others: Sequence[ArmStats] = ()) -> dict[str, Evidence]:
    """Discounted evidence per signal (see module docstring); empty evidence without stats.
    ``others``: the same target's stats on other task types, pooled into the prior."""
    periods = stats.periods if stats else []
    own = {
        "success": discounted([(p.age, p.ok, p.failures) for p in periods], settings),
        "quality": discounted([(p.age, p.ok - p.flagged + p.eval_good, p.flagged + p.eval_bad) for p in periods],
                              settings),
        "feedback": discounted([(p.age, p.votes_up, p.votes_down) for p in periods], settings),
    }
    if not others or settings.prior_strength <= 0:
        return own
    pooled = [evidence(o, settings) for o in others]
    return {s: pooled_prior(own[s], [p[s] for p in pooled], settings.prior_strength) for s in SIGNALS}


def other_tasks(stats_by_task: Mapping[str, Sequence[ArmStats]], task_type: str) -> dict[str, list[ArmStats]]:
    """Each target's stats on task types other than ``task_type`` (for the pooled prior)."""
    out: dict[str, list[ArmStats]] = {}
    for task, stats in stats_by_task.items():
        if task != task_type:
            for s in stats:
                out.setdefault(s.target, []).append(s)
    return out


def figures(stats: ArmStats | None, ev: dict[str, Evidence]) -> Figures:
    """Window totals behind a score (undiscounted, except ``effective_samples``)."""
    if stats is None:
        return Figures()
    ok = sum(p.ok for p in stats.periods)
    samples = ok + sum(p.failures for p in stats.periods)
    votes = sum(p.votes_up + p.votes_down for p in stats.periods)
    evals = sum(p.eval_good + p.eval_bad for p in stats.periods)
    return Figures(
        samples=samples, successes=ok, success_rate=ok / samples if samples else None,
        latency_p50_ms=stats.latency_p50_ms, latency_p95_ms=stats.latency_p95_ms, ttft_p50_ms=stats.ttft_p50_ms,
        cost_per_success_usd=sum(p.cost_usd for p in stats.periods) / ok if ok else None,
        quality_flag_rate=sum(p.flagged for p in stats.periods) / ok if ok else None,
        feedback_score=sum(p.votes_up for p in stats.periods) / votes if votes else None, votes=votes,
        eval_score=sum(p.eval_good for p in stats.periods) / evals if evals else None,
        effective_samples=round(ev["success"].n, 3), left_to_health=stats.left_to_health,
        reset=[s for s in SIGNALS if ev[s].reset])


def relative(values: dict[str, float | None]) -> dict[str, float]:
    """``1 - v / max(v)`` per key (lower is better -> higher score in 0..1); keys without a value
    get the mean of the others (0 when none has one)."""
    known = {k: v for k, v in values.items() if v is not None}
    top = max(known.values(), default=0.0)
    scored = {k: (1.0 - v / top) if top > 0 else 1.0 for k, v in known.items()}
    fill = sum(scored.values()) / len(scored) if scored else 0.0
    return {k: scored.get(k, fill) for k in values}


class _Arm:
    """One rankable target: its evidence and its fixed latency and cost scores."""

    def __init__(self, spec: ArmSpec, ev: dict[str, Evidence], latency: float, cost: float) -> None:
        self.spec, self.ev, self.latency, self.cost = spec, ev, latency, cost


def _utility(obj: Objective, arm: _Arm, success: float, flag_free: float, approval: float) -> float:
    w = obj.weights
    total = w.success + w.quality + w.latency + w.cost
    return (w.success * success + w.quality * flag_free * approval + w.latency * arm.latency
            + w.cost * arm.cost) / total


def _mean_score(obj: Objective, arm: _Arm, use_feedback: bool) -> float:
    approval = arm.ev["feedback"].mean if use_feedback else 1.0
    return _utility(obj, arm, arm.ev["success"].mean, arm.ev["quality"].mean, approval)


def thompson_p_best(obj: Objective, arms: Sequence[_Arm], use_feedback: bool, samples: int,
                    rng: random.Random) -> list[float]:
    """Each arm's share of ``samples`` joint posterior draws in which it scores highest."""
    wins = [0] * len(arms)
    draw_quality = obj.weights.quality > 0
    for _ in range(samples):
        best, best_u = 0, -1.0
        for i, arm in enumerate(arms):
            s = rng.betavariate(arm.ev["success"].alpha, arm.ev["success"].beta) if obj.weights.success else 0.0
            q = rng.betavariate(arm.ev["quality"].alpha, arm.ev["quality"].beta) if draw_quality else 0.0
            a = (rng.betavariate(arm.ev["feedback"].alpha, arm.ev["feedback"].beta)
                 if draw_quality and use_feedback else 1.0)
            u = _utility(obj, arm, s, q, a)
            if u > best_u:
                best, best_u = i, u
        wins[best] += 1
    return [w / samples for w in wins]


def shares(p_best: Sequence[float], leader: int, floor: float, cap: float) -> list[float]:
    """First-position shares: ``p_best`` with ``floor`` per non-leader, non-leaders' total at most
    ``max(cap, their floors)``; the leader gets the rest. Floors shrink so they total <= 0.5."""
    n = len(p_best)
    if n == 1:
        return [1.0]
    floor = min(floor, 0.5 / (n - 1))
    others = [i for i in range(n) if i != leader]
    excess = {i: max(p_best[i] - floor, 0.0) for i in others}
    room = max(min(cap, 1.0) - floor * len(others), 0.0)
    scale = min(1.0, room / sum(excess.values())) if sum(excess.values()) > 0 else 0.0
    out = [0.0] * n
    for i in others:
        out[i] = floor + excess[i] * scale
    out[leader] = max(1.0 - sum(out), 0.0)
    return out


def compute_ranking(spec: RouteSpec, stats: Sequence[ArmStats], settings: LearningSettings, *, seed: int,
                    now: float, others: Mapping[str, Sequence[ArmStats]] | None = None) -> Ranking:
    """Rank ``spec``'s targets from ``stats`` (see module docstring). ``seed`` drives the posterior
    draws; ``now`` (unix s) stamps the ranking; ``others``: target -> its stats on other task types
    (:func:`other_tasks`), for the pooled prior. Version and run id are set when it is written."""
    obj = spec.objective
    by_target = {s.target: s for s in stats}
    evs = {a.target: evidence(by_target.get(a.target), settings, (others or {}).get(a.target, ()))
           for a in spec.arms}
    figs = {a.target: figures(by_target.get(a.target), evs[a.target]) for a in spec.arms}
    blocked = {a.target: why for a in spec.arms if (why := constraint_violation(a, obj))}
    eligible = [a for a in spec.arms if a.target not in blocked]
    lat = relative({a.target: figs[a.target].latency_p50_ms for a in eligible})
    cost = relative({a.target: figs[a.target].cost_per_success_usd for a in eligible})
    arms = [_Arm(a, evs[a.target], lat[a.target], cost[a.target]) for a in eligible]
    use_feedback = any(arm.ev["feedback"].n > 0 for arm in arms)
    means = [_mean_score(obj, arm, use_feedback) for arm in arms]
    p_best = thompson_p_best(obj, arms, use_feedback, settings.mc_samples, random.Random(seed)) if arms else []
    pinned = [i for i, arm in enumerate(arms) if is_pinned(arm.spec, obj)]
    if pinned:
        share = [1.0 / len(pinned) if i in pinned else 0.0 for i in range(len(arms))]
    elif arms:
        leader = max(range(len(arms)), key=lambda i: (p_best[i], means[i], -i))
        share = shares(p_best, leader, obj.exploration_floor, obj.max_exploration)
    else:
        share = []
    order = sorted(range(len(arms)), key=lambda i: (i not in pinned, -share[i], -means[i], i))
    ranked = [RankedTarget(target=arms[i].spec.target, rank=r, score=round(means[i], 6), p_best=p_best[i],
                           share=round(share[i], 6), why=_why(r, i, pinned, figs[arms[i].spec.target]),
                           figures=figs[arms[i].spec.target])
              for r, i in enumerate(order, start=1)]
    unranked = [RankedTarget(target=a.target, why=blocked[a.target], figures=figs[a.target])
                for a in spec.arms if a.target in blocked]
    evals = any(f.eval_score is not None for f in figs.values())
    quality = "quality flags and eval/drill scores" if evals else "quality flags only"
    notes = [] if use_feedback else [f"feedback: no votes in the window; quality from {quality}"]
    notes += [f"change point: {t} {', '.join(f.reset)}: periods before the change forgotten"
              for t, f in figs.items() if f.reset]
    return Ranking(task_type=spec.task_type, mode=spec.mode, created_at=now, targets=ranked + unranked,
                   pinned=[arms[i].spec.target for i in pinned], notes=notes)


def _why(rank: int, i: int, pinned: list[int], fig: Figures) -> str:
    if i in pinned:
        return "pinned primary"
    if fig.samples == 0:
        return "no outcomes in the window: prior only, explored"
    return "leader" if rank == 1 else f"rank {rank}"
