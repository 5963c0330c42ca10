"""``switchyard rankings [TASK]`` and ``switchyard schedule``: show learned rankings, manage the schedule.

``rankings`` reads the database (``DATABASE_URL`` or the embedded SQLite file): for each task
type (or the one named) the current ranking with the figures behind each score and its rank move,
the previous ranking, and what changed (``core/learning/diff.py``). ``--workflow`` asks the latest
learning run instead, through its ``rankings`` query.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from activities.storage.engine import make_engine
from activities.storage.rankings import RankingStore
from core.learning.diff import changes
from core.learning.model import RankedTarget, Ranking
from worker.client import connect
from worker.config_loader import load_config
from worker.drill_schedule import drill_schedule_id, ensure_drill_schedules
from worker.schedule import ensure_learning_schedule, latest_run_rankings, trigger_learning
from worker.settings import Settings


def _num(v: float | None, fmt: str = ".3f") -> str:
    return "-" if v is None else format(v, fmt)


def _move(t: RankedTarget, previous: Ranking | None) -> str:
    if previous is None:
        return ""
    old = next((p for p in previous.targets if p.target == t.target), None)
    if old is None:
        return "new"
    if not t.rank or not old.rank:
        return "=" if t.rank == old.rank else ("out" if not t.rank else "in")
    return "=" if old.rank == t.rank else (f"+{old.rank - t.rank}" if t.rank < old.rank else f"-{t.rank - old.rank}")


def ranking_table(r: Ranking, previous: Ranking | None = None) -> Table:
    """The ranking with the figures behind each score: rank and its move since ``previous``,
    score (0..1), share of first positions, P(best), samples, success rate, latency p50/p95 and
    TTFT p50 (ms), cost per answer (USD), quality-flag rate, feedback (share of thumbs up, votes)."""
    when = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    table = Table(title=f"{r.task_type} v{r.version} ({'applied' if r.mode == 'on' else 'shadow: not applied'}, "
                        f"{when})", title_justify="left")
    for col in ("rank", "move", "target", "score", "share", "P(best)", "n", "success", "p50 ms", "p95 ms",
                "ttft ms", "$/answer", "flags", "feedback", "why"):
        table.add_column(col, justify="left" if col in ("target", "why") else "right")
    for t in r.targets:
        f = t.figures
        fb = "-" if f.feedback_score is None else f"{f.feedback_score:.2f} ({f.votes})"
        table.add_row(str(t.rank or "-"), _move(t, previous), t.target, _num(t.score), f"{t.share:.3f}",
                      f"{t.p_best:.3f}", str(f.samples), _num(f.success_rate), _num(f.latency_p50_ms, ".0f"),
                      _num(f.latency_p95_ms, ".0f"), _num(f.ttft_p50_ms, ".0f"), _num(f.cost_per_success_usd, ".5f"),
                      _num(f.quality_flag_rate), fb, t.why + (f" [reset: {', '.join(f.reset)}]" if f.reset else ""))
    return table


def print_ranking(console: Console, current: Ranking, previous: Ranking | None) -> None:
    """Current ranking, previous ranking (compact), notes and changes."""
    console.print(ranking_table(current, previous))
    for note in current.notes:
        console.print(f"  note: {note}")
    if previous is not None:
        prev = Table(title=f"previous: v{previous.version}", title_justify="left")
        for col in ("rank", "target", "score", "share"):
            prev.add_column(col)
        for t in previous.targets:
            prev.add_row(str(t.rank or "-"), t.target, _num(t.score), f"{t.share:.3f}")
        console.print(prev)
    console.print("changed:", highlight=False)
    for line in changes(current, previous):
        console.print(f"  - {line}", highlight=False)
    console.print()


async def show_rankings(settings: Settings, console: Console, task_type: str | None, *,
                        from_workflow: bool = False) -> int:
    """Print rankings (see module docstring); exit code 1 when there is nothing to show."""
    if from_workflow:
        return await _show_from_workflow(settings, console, task_type)
    engine = make_engine(settings.db_url())
    shown = 0
    try:
        store = RankingStore(engine)
        for task in [task_type] if task_type else await store.task_types():
            history = await store.history(task, 2)
            if history:
                print_ranking(console, history[0], history[1] if len(history) > 1 else None)
                shown += 1
    except SQLAlchemyError as e:
        console.print(f"cannot read rankings from {settings.db_url()} ({type(e.orig or e).__name__}: "
                      f"{e.orig or e}); is the database migrated? (switchyard migrate)", highlight=False)
        return 2
    finally:
        await engine.dispose()
    if not shown:
        console.print(f"no rankings yet{' for ' + task_type if task_type else ''}: the learning schedule writes "
                      "one per task type every period (switchyard schedule --trigger runs one now)")
        return 1
    return 0


async def _show_from_workflow(settings: Settings, console: Console, task_type: str | None) -> int:
    found = await latest_run_rankings(await connect(settings), task_type=task_type)
    if found is None:
        console.print("the learning schedule has not run yet")
        return 1
    workflow_id, rankings = found
    console.print(f"from learning run {workflow_id}:")
    for r in rankings:
        print_ranking(console, r, None)
    return 0 if rankings else 1


async def schedule_command(settings: Settings, console: Console, *, trigger: bool) -> None:
    """Create or update the learning schedule on the cluster Temporal's environment names."""
    cfg = load_config(settings.config_path())
    client = await connect(settings)
    outcome = await ensure_learning_schedule(client, settings.task_queue, cfg.learning)
    console.print(f"learning schedule switchyard-learning {outcome}: every {cfg.learning.period_s:g} s on task "
                  f"queue {settings.task_queue}")
    drills = await ensure_drill_schedules(client, settings.task_queue, cfg)
    console.print("drill schedules: " + (", ".join(f"{drill_schedule_id(r)} {o}" for r, o in drills.items())
                                         or "none (no route has a backup)"))
    if trigger:
        await trigger_learning(client)
        console.print("triggered one learning run now")
