"""``LearningWorkflow``: one learning run, started every period by the ``switchyard-learning`` schedule.

Steps: ``gather`` (activity: the routes to rank and their outcome stats per period, aggregated in
SQL) -> rank each route in workflow code (pure ``core.learning.rank.compute_ranking``, seeded
from ``workflow.random()``, so the run is reproducible from its history) -> ``write`` (activity:
each ranking as its task type's next version, idempotent per run). Task types without outcomes
in the window keep their previous ranking and are listed in the result's ``skipped``.

The ``rankings`` query returns what the run ranked (also after it completed, within the
namespace's retention), optionally for one task type. Planning never asks the workflow: it reads
the database through an in-process cache (``shared/TEMPORAL.md`` recommendation 12).

Deterministic: time from ``workflow.now()``, randomness from ``workflow.random()``, I/O only
through activities.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.learning.model import Gathered, GatherInput, LearningInput, LearningResult, Ranking, WriteInput
    from core.learning.rank import compute_ranking, other_tasks
    from core.names import (
        LEARNING_GATHER_ACTIVITY,
        LEARNING_RANKINGS_QUERY,
        LEARNING_WORKFLOW,
        LEARNING_WRITE_ACTIVITY,
    )
    from workflows.options import LEARNING_OPTIONS


@workflow.defn(name=LEARNING_WORKFLOW)
class LearningWorkflow:
    """Input :class:`core.learning.model.LearningInput`; result
    :class:`core.learning.model.LearningResult` (the rankings written, with versions)."""

    def __init__(self) -> None:
        self._result = LearningResult()

    @workflow.run
    async def run(self, inp: LearningInput) -> LearningResult:
        now = workflow.now().timestamp()
        gathered = await workflow.execute_activity(
            LEARNING_GATHER_ACTIVITY, GatherInput(now=now, period_s=inp.period_s, task_types=inp.task_types),
            result_type=Gathered, start_to_close_timeout=LEARNING_OPTIONS.gather_timeout,
            retry_policy=LEARNING_OPTIONS.retry)
        rankings, skipped = self._rank(gathered)
        info = workflow.info()
        written: list[Ranking] = []
        if rankings:
            written = await workflow.execute_activity(
                LEARNING_WRITE_ACTIVITY, WriteInput(run_id=f"{info.workflow_id}/{info.run_id}", rankings=rankings),
                result_type=list[Ranking], start_to_close_timeout=LEARNING_OPTIONS.write_timeout,
                retry_policy=LEARNING_OPTIONS.retry)
        self._result = LearningResult(rankings=written, skipped=skipped)
        workflow.set_current_details(_details(self._result))
        return self._result

    def _rank(self, g: Gathered) -> tuple[list[Ranking], dict[str, str]]:
        rankings: list[Ranking] = []
        skipped: dict[str, str] = {}
        for spec in g.routes:
            stats = g.stats.get(spec.task_type, [])
            if not any(s.periods for s in stats):
                skipped[spec.task_type] = "no learnable outcomes in the window; previous ranking kept"
                continue
            seed = workflow.random().getrandbits(32)
            rankings.append(compute_ranking(spec, stats, g.settings, seed=seed, now=g.now,
                                            others=other_tasks(g.stats, spec.task_type)))
        return rankings, skipped

    @workflow.query(name=LEARNING_RANKINGS_QUERY)
    def rankings(self, task_type: str | None = None) -> list[Ranking]:
        """The rankings this run wrote (all, or the one of ``task_type``)."""
        return [r for r in self._result.rankings if task_type is None or r.task_type == task_type]


def _details(res: LearningResult) -> str:
    lines = [f"- **{r.task_type}** v{r.version} ({r.mode}): leader {r.leader() or '-'}" for r in res.rankings]
    lines += [f"- {task}: {why}" for task, why in res.skipped.items()]
    return "\n".join(lines) or "no routes to rank"
