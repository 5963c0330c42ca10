"""The drill workflow's activities: resolve what to run, store what it found.

- ``prepare``: from the live config, the route's primary and the targets to run (eval: the
  chain or the asked targets; drill: the primary plus each backup or the asked ones), the cases
  (the input's, else the route's ``drill.prompts`` JSONL file, else the built-in samples), the
  judge target and the thresholds. Bad names or files raise a non-retryable ``InvalidRequest``.
- ``record``: the report into ``drill_results`` and ``eval_scores`` (``activities/storage/drill_store.py``).
- ``open_window`` / ``measure``: a live-traffic drill's window (``activities/storage/drill_windows.py``).

The prompts file path is read as given (relative paths from the worker's working directory).
"""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.storage.drill_store import DrillStore
from activities.storage.drill_windows import DrillWindows
from core.canary import LiveDrill
from core.chains import expand_chain
from core.config import ConfigSource, RouteConfig, SwitchyardConfig
from core.drill import BUILTIN_CASES, MeasureInput, TargetSummary, TrialInput, TrialReport, TrialSpec
from core.errors import ErrorClass
from core.eval_checks import CaseError, EvalCase, parse_cases
from core.names import (
    DRILL_MEASURE_ACTIVITY,
    DRILL_OPEN_WINDOW_ACTIVITY,
    DRILL_PREPARE_ACTIVITY,
    DRILL_RECORD_ACTIVITY,
)


class TrialError(ValueError):
    """A drill or eval input naming an unknown route, target or prompts file."""


def _targets(cfg: SwitchyardConfig, inp: TrialInput, chain: list[str]) -> list[str]:
    known = {t.id for t in cfg.targets}
    asked = inp.targets or []
    unknown = [t for t in asked if t not in known]
    if unknown:
        raise TrialError(f"unknown target(s) {', '.join(unknown)}; route {inp.route!r} chain: {', '.join(chain)}")
    if inp.kind == "eval":
        return list(dict.fromkeys(asked or chain))
    outside = [t for t in asked if t not in chain[1:]]
    if outside:
        raise TrialError(f"{', '.join(outside)} not a backup of route {inp.route!r} (backups: "
                         f"{', '.join(chain[1:]) or 'none'})")
    backups = asked or chain[1:]
    if not backups:
        raise TrialError(f"route {inp.route!r} has no backup to drill (chain: {', '.join(chain)})")
    return [chain[0], *dict.fromkeys(backups)]


def _cases(inp: TrialInput, route: RouteConfig) -> list[EvalCase]:
    if inp.cases:
        cases = list(inp.cases)
    elif route.drill.prompts:
        try:
            cases = parse_cases(Path(route.drill.prompts).read_text(encoding="utf-8"))
        except OSError as e:
            raise TrialError(f"drill.prompts: cannot read {route.drill.prompts}: {e.strerror}") from None
        except CaseError as e:
            raise TrialError(f"drill.prompts {route.drill.prompts}: {e}") from None
    else:
        cases = list(BUILTIN_CASES)
    ids = [c.id for c in cases]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise TrialError(f"case ids used twice: {', '.join(dup)}")
    count = inp.count or (route.drill.count if inp.kind == "drill" else len(cases))
    return [cases[i % len(cases)] if i < len(cases) else
            cases[i % len(cases)].model_copy(update={"id": f"{cases[i % len(cases)].id}-r{i // len(cases) + 1}"})
            for i in range(count)]


def trial_spec(cfg: SwitchyardConfig, inp: TrialInput) -> TrialSpec:
    """Resolve ``inp`` against ``cfg`` (see module docstring); raises :class:`TrialError`."""
    if inp.live_share and inp.kind != "drill":
        raise TrialError("a live share is for drills only")
    if inp.route not in cfg.routes:
        raise TrialError(f"unknown route {inp.route!r}; known routes: {', '.join(cfg.routes)}")
    route = cfg.routes[inp.route]
    live = (inp.live_share if inp.live_share is not None else route.drill.live_share) if inp.kind == "drill" else None
    chain = [t.id for group in expand_chain(cfg, inp.route) for t in group]
    judge = inp.judge_target or route.drill.judge_target
    if judge is not None and judge not in {t.id for t in cfg.targets}:
        raise TrialError(f"unknown judge target {judge!r}")
    return TrialSpec(route=inp.route, kind=inp.kind, primary=chain[0], targets=_targets(cfg, inp, chain),
                     cases=[] if live else _cases(inp, route), judge_target=judge, thresholds=route.drill,
                     parallel=inp.parallel, live_share=live or None, live_s=inp.live_s or route.drill.live_seconds)


class DrillActivities:
    """The drill workflow's I/O with injected collaborators (config holder, drill store, live
    drill windows)."""

    def __init__(self, configs: ConfigSource, store: DrillStore, windows: DrillWindows) -> None:
        self._configs = configs
        self._store = store
        self._windows = windows

    @activity.defn(name=DRILL_PREPARE_ACTIVITY)
    async def prepare(self, inp: TrialInput) -> TrialSpec:
        """The resolved run (:func:`trial_spec`); bad input is a non-retryable ``InvalidRequest``."""
        cfg, _ = self._configs.current()
        try:
            return trial_spec(cfg, inp)
        except TrialError as e:
            raise ApplicationError(str(e), type=ErrorClass.INVALID_REQUEST.value, non_retryable=True) from None

    @activity.defn(name=DRILL_RECORD_ACTIVITY)
    async def record(self, report: TrialReport) -> None:
        """Store the report (idempotent per run and target)."""
        await self._store.record(report)

    @activity.defn(name=DRILL_OPEN_WINDOW_ACTIVITY)
    async def open_window(self, window: LiveDrill) -> None:
        """Open a live drill window (idempotent per run and target)."""
        await self._windows.open(window)

    @activity.defn(name=DRILL_MEASURE_ACTIVITY)
    async def measure(self, inp: MeasureInput) -> list[TargetSummary]:
        """``[primary summary, backup summary]`` over the window's live outcomes."""
        return await self._windows.measure(inp.route, {inp.primary: "primary", inp.backup: "backup"},
                                           inp.start, inp.end)

    def all(self) -> list:
        """Every activity method, for the worker."""
        return [self.prepare, self.record, self.open_window, self.measure]
