"""Regret of learned routing against the oracle ordering (pure; ``bench/learning.py`` feeds it).

Score of one request: the true quality (``task_profiles``, as changed by the run) of the target that
answered, for the request's task type. Oracle: the best target's quality for that task at that
time. **Regret** of a set of requests = sum(oracle - served) / sum(oracle), so 0.05 means the
requests got 5% less quality than perfect routing would have given them. The same for a **static**
chain (always the configured first target) shows what learning is worth.
"""

from __future__ import annotations

from dataclasses import dataclass

Truth = dict[str, dict[str, float]]  # task type -> target -> quality


@dataclass(frozen=True)
class Served:
    """One request: its period, task type, the target that answered, whether the plan's first
    target was an exploration draw, and the truth in force when it ran."""

    period: int
    task: str
    target: str
    explored: bool
    truth: Truth


def oracle(truth: Truth, task: str) -> tuple[str, float]:
    """The best target of ``task`` and its quality."""
    target = max(truth[task], key=lambda t: truth[task][t])
    return target, truth[task][target]


def regret(served: list[Served], task: str | None = None) -> float:
    """Regret of ``served`` (optionally only ``task``'s requests); 0 for none."""
    rows = [s for s in served if task is None or s.task == task]
    best = sum(oracle(s.truth, s.task)[1] for s in rows)
    got = sum(s.truth[s.task][s.target] for s in rows)
    return (best - got) / best if best else 0.0


def static_regret(served: list[Served], first: str, task: str | None = None) -> float:
    """Regret the same requests would have had if ``first`` (the configured primary) answered all."""
    rows = [s for s in served if task is None or s.task == task]
    best = sum(oracle(s.truth, s.task)[1] for s in rows)
    got = sum(s.truth[s.task][first] for s in rows)
    return (best - got) / best if best else 0.0


def off_oracle_share(served: list[Served]) -> float:
    """Share of requests answered by a target other than their task's oracle best."""
    if not served:
        return 0.0
    return sum(s.target != oracle(s.truth, s.task)[0] for s in served) / len(served)


def explored_share(served: list[Served]) -> float:
    """Share of requests whose first target was an exploration draw (not the learned leader)."""
    return sum(s.explored for s in served) / len(served) if served else 0.0


def periods_to_adapt(leaders: list[dict[str, str | None]], truths: list[Truth], task: str, change_period: int
                     ) -> int | None:
    """Learning runs after the change (1 = the run at the end of the change period) until the
    ranking's leader of ``task`` is the new oracle best; ``None`` if it never is.
    ``leaders[p]``/``truths[p]``: the leaders written and the truth in force at the end of period ``p``."""
    for p in range(change_period, len(leaders)):
        if leaders[p].get(task) == oracle(truths[p], task)[0]:
            return p - change_period + 1
    return None
