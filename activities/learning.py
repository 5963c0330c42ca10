"""The learning workflow's activities: gather what to rank, write the rankings.

- ``gather``: the routes to rank (every route not ``learn: off``, from the live config) with
  their chain targets and objective, and the outcome stats of their task types over the window,
  aggregated in SQL (``activities/storage/learning_queries.py``), with the scores of eval runs and
  drills merged in (``core/learning/eval_signal.py``).
- ``write``: each ranking as its task type's next version, idempotent per learning run.

The ranking itself is computed in the workflow from what ``gather`` returns (pure,
``core/learning/rank.py``), so it is recorded and reproducible from history.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics
from activities.storage.drill_store import DrillStore
from activities.storage.learning_queries import OutcomeAggregator
from activities.storage.rankings import RankingStore
from core.chains import expand_chain
from core.config import ConfigSource, SwitchyardConfig
from core.errors import ErrorClass
from core.learning.eval_signal import with_eval_signal
from core.learning.model import ArmSpec, Gathered, GatherInput, Ranking, RouteSpec, WriteInput
from core.names import LEARNING_GATHER_ACTIVITY, LEARNING_WRITE_ACTIVITY


def route_specs(cfg: SwitchyardConfig, task_types: list[str] | None) -> list[RouteSpec]:
    """The routes to rank, in config order: ``task_types`` if given (each must name a route),
    else every route whose ``learn`` is not ``off``. Raises ``ValueError`` for unknown names."""
    unknown = sorted(set(task_types or []) - set(cfg.routes))
    if unknown:
        raise ValueError(f"unknown task type(s) {', '.join(unknown)}; known routes: {', '.join(cfg.routes)}")
    specs = []
    for name, route in cfg.routes.items():
        if route.learn == "off" or (task_types is not None and name not in task_types):
            continue
        arms = [ArmSpec(target=t.id, model_ref=t.model_ref, region=t.region, capabilities=sorted(t.capabilities),
                        context_window=t.context_window, price_output=t.price.output)
                for group in expand_chain(cfg, name) for t in group]
        specs.append(RouteSpec(task_type=name, mode=route.learn, objective=route.objective, arms=arms))
    return specs


class LearningActivities:
    """Learning's I/O with injected collaborators (config holder, aggregator, ranking store, and
    the drill store whose eval and drill scores are a quality signal; ``None``: outcomes only)."""

    def __init__(self, configs: ConfigSource, aggregator: OutcomeAggregator, store: RankingStore,
                 evals: DrillStore | None = None) -> None:
        self._configs = configs
        self._aggregator = aggregator
        self._store = store
        self._evals = evals

    @activity.defn(name=LEARNING_GATHER_ACTIVITY)
    async def gather(self, inp: GatherInput) -> Gathered:
        """Routes to rank and their stats over ``settings.window_periods`` periods ending at
        ``inp.now``; an unknown task type raises a non-retryable ``InvalidRequest``."""
        cfg, _ = self._configs.current()
        try:
            specs = route_specs(cfg, inp.task_types)
        except ValueError as e:
            raise ApplicationError(str(e), type=ErrorClass.INVALID_REQUEST.value, non_retryable=True) from None
        period = inp.period_s or cfg.learning.period_s
        tasks = [s.task_type for s in specs]
        stats = await self._aggregator.stats(tasks, inp.now, period, cfg.learning.window_periods)
        if self._evals is not None:
            stats = with_eval_signal(stats, await self._evals.eval_periods(tasks, inp.now, period,
                                                                           cfg.learning.window_periods))
        by_task: dict[str, list] = {s.task_type: [] for s in specs}
        for s in stats:
            by_task.setdefault(s.task_type, []).append(s)
        return Gathered(now=inp.now, period_s=period, settings=cfg.learning, routes=specs, stats=by_task)

    @activity.defn(name=LEARNING_WRITE_ACTIVITY)
    async def write(self, inp: WriteInput) -> list[Ranking]:
        """Write each ranking as the next version of its task type; returns them with versions.

        A ranking whose ranked order differs from the task type's previous one counts in the
        ``switchyard.learning.rank_changes`` metric."""
        written = []
        for r in inp.rankings:
            before = await self._store.history(r.task_type, limit=1)
            written.append(await self._store.write(r, inp.run_id))
            if before and [t.target for t in before[0].ranked()] != [t.target for t in r.ranked()]:
                metrics.record_rank_change(r.task_type)
        return written
