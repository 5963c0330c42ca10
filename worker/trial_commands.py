"""The typer commands ``eval`` and ``drill`` (``worker/trial_cli.py`` does the work)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from worker.config_loader import ConfigError
from worker.render import cli_console
from worker.settings import Settings
from worker.stack import status as stack_status
from worker.trial_cli import TrialUsageError, drill_command, eval_command

_ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="Config YAML of the running stack (default: the one `switchyard up` runs, else settings).")]
_TargetOpt = Annotated[list[str] | None, typer.Option("--target", "-t", help="Only this target (repeatable).")]
_JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _settings(config: Path | None) -> Settings:
    """Settings with ``config``, else the config the running stack's worker was started with."""
    s = Settings()
    running = stack_status(s).config_path if config is None else None
    if config is not None or running:
        s.config = config or Path(running)
    return s


def _finish(coro) -> None:  # type: ignore[no-untyped-def]
    err = cli_console(stderr=True)
    try:
        code = asyncio.run(coro)
    except (TrialUsageError, ConfigError) as e:
        err.print(f"[red]error:[/] {e}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def register_trial_commands(app: typer.Typer) -> None:
    """Add ``eval`` and ``drill`` to ``app``."""

    @app.command("eval")
    def eval_(route: Annotated[str, typer.Argument(help="Route (task type) to evaluate.")],
              cases: Annotated[Path | None, typer.Option("--cases", help="JSONL test prompts (default: the "
                                                         "route's drill.prompts, else built-in samples).")] = None,
              target: _TargetOpt = None,
              judge: Annotated[str | None, typer.Option(help="Judge target for cases without checks.")] = None,
              report_dir: Annotated[Path, typer.Option(help="Where the JSON and HTML reports go.")] = Path("reports"),
              as_json: _JsonOpt = False, config: _ConfigOpt = None) -> None:
        """Score every target of a route's chain on test prompts; table per target and an HTML/JSON report."""
        _finish(eval_command(_settings(config), cli_console(), route, cases=cases, targets=target, judge=judge,
                             report_dir=report_dir, as_json=as_json))

    @app.command()
    def drill(route: Annotated[str, typer.Argument(help="Route (task type) to drill.")],
              target: _TargetOpt = None,
              count: Annotated[int | None, typer.Option(min=1, max=500, help="Prompts per target "
                                                        "(default: the route's drill.count).")] = None,
              live_share: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Drill on live traffic: "
                                                               "this share of the route's requests tries each "
                                                               "backup first, in turn (default: the route's "
                                                               "drill.live_share; 0: synthetic prompts).")] = None,
              live_seconds: Annotated[float | None, typer.Option(min=1, max=86_400, help="Window per backup of a "
                                                                 "live drill (s; default drill.live_seconds, "
                                                                 "60).")] = None,
              report_dir: Annotated[Path | None, typer.Option(help="Also write JSON and HTML reports here.")] = None,
              as_json: _JsonOpt = False, config: _ConfigOpt = None) -> None:
        """Force a failover to each backup, compare with the primary; exit 1 when any backup fails."""
        _finish(drill_command(_settings(config), cli_console(), route, targets=target, count=count,
                              live_share=live_share, live_s=live_seconds, report_dir=report_dir, as_json=as_json))
