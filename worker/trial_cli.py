"""``switchyard eval ROUTE`` and ``switchyard drill ROUTE``: run on the running stack, print, exit.

- ``eval``: every target of the route's chain (or ``--target``) answers every case of ``--cases``
  (JSONL, ``core/eval_checks.py``; default: the route's ``drill.prompts`` or the built-in samples);
  prints the table ranked by mean score and writes ``<run id>.json`` and ``.html`` under
  ``--report-dir``. Exit 0, or 2 for bad input.
- ``drill``: the primary and each backup (or ``--target``) answer ``--count`` prompts; prints each
  backup's verdict against the route's ``drill:`` thresholds; with ``--live-share S`` no prompts are
  sent: for ``--live-seconds`` per backup, a share S of the route's live requests tries that
  backup first and the window's live outcomes are compared. Exit 0 when every backup passed, 1
  when any failed (naming them), 2 for bad input: fit for a deploy gate or cron.

``--config FILE`` is the config of the running stack: it is validated here and the route checked
before anything runs; the workers use their own copy. Temporal comes from its environment
configuration (``worker/client.py``).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from core.drill import TrialInput, TrialReport
from core.eval_checks import CaseError, parse_cases
from worker.client import connect
from worker.config_loader import load_config
from worker.settings import Settings
from worker.trial_render import print_trial
from worker.trial_report import write_report
from worker.trial_runner import TrialFailed, run_trial


class TrialUsageError(ValueError):
    """Bad command input (unknown route, unreadable cases file): exit code 2."""


def _check_route(settings: Settings, route: str) -> None:
    cfg = load_config(settings.config_path())
    if route not in cfg.routes:
        raise TrialUsageError(f"unknown route {route!r}; known routes: {', '.join(cfg.routes)}")


async def _run(settings: Settings, inp: TrialInput) -> TrialReport:
    _check_route(settings, inp.route)
    try:
        return await run_trial(await connect(settings), settings.task_queue, inp)
    except TrialFailed as e:
        raise TrialUsageError(str(e)) from None


async def eval_command(settings: Settings, console: Console, route: str, *, cases: Path | None,
                       targets: list[str] | None, judge: str | None, report_dir: Path, as_json: bool) -> int:
    """Run ``switchyard eval`` (see module docstring); returns the exit code. Raises
    :class:`TrialUsageError` and ``worker.config_loader.ConfigError`` for bad input."""
    loaded = None
    if cases is not None:
        try:
            loaded = parse_cases(cases.read_text(encoding="utf-8"))
        except OSError as e:
            raise TrialUsageError(f"--cases {cases}: {e.strerror}") from None
        except CaseError as e:
            raise TrialUsageError(f"--cases {cases}: {e}") from None
    report = await _run(settings, TrialInput(route=route, kind="eval", targets=targets or None, cases=loaded,
                                             judge_target=judge))
    js, page = write_report(report, report_dir)
    if as_json:
        print(report.model_dump_json(indent=2))
        return 0
    print_trial(console, report)
    console.print(f"report: {page} (and {js.name})")
    return 0


async def drill_command(settings: Settings, console: Console, route: str, *, targets: list[str] | None,
                        count: int | None, report_dir: Path | None, as_json: bool, live_share: float | None = None,
                        live_s: float | None = None) -> int:
    """Run ``switchyard drill`` (see module docstring); returns 0 (passed) or 1 (a backup failed)."""
    report = await _run(settings, TrialInput(route=route, kind="drill", targets=targets or None, count=count,
                                             live_share=live_share, live_s=live_s))
    if report_dir is not None:
        write_report(report, report_dir)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        print_trial(console, report)
    return 0 if report.passed else 1
