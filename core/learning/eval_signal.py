"""Eval and drill scores as a learning signal: merge them into the outcome stats of each
(task type, target) before ranking (``core/learning/rank.py`` adds them to the quality evidence).

Input: ``(task type, target) -> [(age, good, bad), ...]`` from
``activities.storage.drill_store.DrillStore.eval_periods`` (good = sum of scores 0..1, bad = sum
of complements). A target with eval scores but no live outcomes gets stats of its own, so an eval
can inform the ranking of a backup that has served no traffic yet. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.learning.model import ArmStats, PeriodCounts


def with_eval_signal(stats: Sequence[ArmStats],
                     evals: Mapping[tuple[str, str], Sequence[tuple[int, float, float]]]) -> list[ArmStats]:
    """``stats`` with each period's ``eval_good``/``eval_bad`` set from ``evals`` (new periods and
    new arms added where needed), sorted by (task type, target); the inputs are not changed."""
    out = {(s.task_type, s.target): s.model_copy(deep=True) for s in stats}
    for (task, target), periods in evals.items():
        arm = out.setdefault((task, target), ArmStats(task_type=task, target=target))
        by_age = {p.age: p for p in arm.periods}
        for age, good, bad in periods:
            p = by_age.get(age)
            if p is None:
                p = by_age[age] = PeriodCounts(age=age)
                arm.periods.append(p)
            p.eval_good += good
            p.eval_bad += bad
        arm.periods.sort(key=lambda p: p.age)
    return sorted(out.values(), key=lambda a: (a.task_type, a.target))
