"""``switchyard batch``: run a JSONL batch with a live progress bar, reattach, retry failed items, export.

    switchyard batch FILE --out DIR [--concurrency N] [--task-type T]   # = switchyard batch run FILE ...
    switchyard batch attach ID            # follow a running (or finished) batch again
    switchyard batch retry-failed ID      # re-run only the failed items, as the next round
    switchyard batch export ID --out DIR  # results.jsonl + docs/ from the database, anywhere
    switchyard batch list

The file format is in ``core/batch_file.py``. The bar shows items finished of this round, the rate
(items/s) and the ETA from it, plus done/failed/in-flight counts and the cost so far (the
workflow's ``progress`` query, twice a second). Ctrl-C only detaches: the batch keeps running on
the workers. Exit codes: 0 every item done, 1 some failed (or the batch could not run), 2 bad file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from activities.batch_export import export_batch
from activities.storage.batches import BatchNotFound, BatchStore
from activities.storage.engine import make_engine
from core.batch import BatchProgress, BatchSummary
from core.batch_file import BatchFileError
from worker import stack
from worker.batch_client import BatchBusy, BatchClient, resolve_batch_id
from worker.cli_db import migrated_engine
from worker.client import connect
from worker.config_loader import ConfigError, load_config
from worker.render import cli_console
from worker.settings import Settings

POLL_S = 0.5
console = cli_console()
err = cli_console(stderr=True)


class _DefaultRun(typer.core.TyperGroup):
    """``switchyard batch FILE ...`` is ``switchyard batch run FILE ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


batch_app = typer.Typer(cls=_DefaultRun, no_args_is_help=True, pretty_exceptions_enable=False,
                        help="Batch generation from a JSONL file (see `switchyard batch run --help`).")

Concurrency = Annotated[int, typer.Option("--concurrency", "-n", min=1, max=500, help="Items in flight at most.")]
Out = Annotated[Path | None, typer.Option("--out", "-o", help="Export directory: docs/ and results.jsonl "
                                          "(written by the worker as items finish).")]


@asynccontextmanager
async def _batch_client(settings: Settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.db_url())
    try:
        yield BatchClient(await connect(settings), BatchStore(engine), settings.batch_task_queue)
    finally:
        await engine.dispose()


def _running_routes(settings: Settings) -> set[str] | None:
    """Route names of the config the embedded stack's worker runs; ``None`` (no check) when no
    embedded worker runs here (workers elsewhere may run another config) or its file is unreadable."""
    path = stack.status(settings).config_path
    if path is None:
        return None
    try:
        return set(load_config(Path(path)).routes)
    except (ConfigError, OSError):
        return None


def _run_store(coro_fn: Callable[[BatchStore], Awaitable[int]]) -> None:
    """Run a command that only reads the database (no Temporal server needed)."""
    async def main() -> int:
        async with migrated_engine(Settings()) as engine:
            return await coro_fn(BatchStore(engine))
    _finish(main)


def _run(coro_fn: Callable[[BatchClient], Awaitable[int]]) -> None:
    async def main() -> int:
        async with _batch_client(Settings()) as bc:
            return await coro_fn(bc)
    _finish(main)


def _finish(main: Callable[[], Awaitable[int]]) -> None:
    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        err.print("detached; the batch keeps running on the workers")
        code = 130
    except BatchNotFound as e:
        err.print(f"[red]error:[/] no batch {e.args[0]!r}")
        code = 1
    raise typer.Exit(code)


@batch_app.command("run")
def run(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL batch file.")],
        out: Out = None, concurrency: Concurrency = 20,
        task_type: Annotated[str | None, typer.Option("--task-type", "-t", help="Route of items that name "
                                                      "none (default: the config's default route).")] = None,
        tenant: Annotated[str, typer.Option()] = "default",
        job: Annotated[str | None, typer.Option("--id", help="Batch id (default: file name + content hash, "
                                                "so running the same file again resumes it).")] = None,
        detach: Annotated[bool, typer.Option(help="Start and return without following.")] = False) -> None:
    """Load FILE into the database, start its batch (or resume it) and follow it."""

    async def go(bc: BatchClient) -> int:
        try:
            info, created = await bc.load(file, job=job, task_type=task_type, tenant=tenant,
                                          routes=_running_routes(Settings()))
        except BatchFileError as e:
            err.print(f"[red]error:[/] {file}: {e}", highlight=False)
            return 2
        console.print(f"batch [bold]{info.batch_id}[/]: {info.total} items "
                      + ("loaded" if created else f"already loaded ({info.state}), resuming"))
        await bc.start(info.batch_id, concurrency=concurrency, export_dir=out)
        if detach:
            console.print(f"started; follow with `switchyard batch attach {info.batch_id}`")
            return 0
        return await follow(bc, info.batch_id)

    _run(go)


@batch_app.command("attach")
def attach(batch_id: Annotated[str, typer.Argument(help="Batch id (or its workflow id, batch-<id>).")]) -> None:
    """Follow a batch's latest run with the progress bar until it ends."""
    async def go(bc: BatchClient) -> int:
        return await follow(bc, await bc.resolve(batch_id))

    _run(go)


@batch_app.command("retry-failed")
def retry_failed(given: Annotated[str, typer.Argument(metavar="BATCH_ID", help="Batch id.")],
                 concurrency: Concurrency = 20,
                 out: Out = None) -> None:
    """Re-run only the items that failed, as the next round, and follow it."""

    async def go(bc: BatchClient) -> int:
        batch_id = await bc.resolve(given)
        if (await bc.store.counts(batch_id)).failed == 0:
            console.print(f"batch {batch_id} has no failed items; nothing to retry")
            return 0
        try:
            await bc.retry_failed(batch_id, concurrency=concurrency, export_dir=out)
        except BatchBusy as e:
            err.print(f"[red]error:[/] {e}")
            return 1
        return await follow(bc, batch_id)

    _run(go)


@batch_app.command("export")
def export(batch_id: Annotated[str, typer.Argument(help="Batch id (or its workflow id, batch-<id>).")],
           out: Annotated[Path, typer.Option("--out", "-o", help="Export directory.")]) -> None:
    """Write results.jsonl and docs/ from the database (works on any machine that reaches it)."""

    async def go(store: BatchStore) -> int:
        path = await export_batch(store, await resolve_batch_id(store, batch_id), out)
        console.print(f"wrote {path} and {out / 'docs'}")
        return 0

    _run_store(go)


@batch_app.command("list")
def list_batches() -> None:
    """The most recent batches with their counts."""

    async def go(store: BatchStore) -> int:
        table = Table("batch", "state", "items", "done", "failed", "round", "cost USD", "source")
        for b in await store.list():
            c = await store.counts(b.batch_id)
            table.add_row(b.batch_id, b.state, str(c.total), str(c.done), str(c.failed), str(b.round),
                          f"{c.cost_usd:.6f}", b.source)
        console.print(table)
        return 0

    _run_store(go)


class _Rate(ProgressColumn):
    """Items per second over rich's recent-speed window."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0.0:.1f} items/s", style="progress.data.speed")


async def follow(bc: BatchClient, batch_id: str) -> int:
    """Show the progress bar until the batch's latest run ends; print the summary; exit code.
    Raises ``BatchNotFound`` for an unknown id."""
    await bc.store.info(batch_id)
    console.print(f"following; Ctrl-C detaches (reattach with `switchyard batch attach {batch_id}`)")
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
               TextColumn("{task.fields[elapsed]}"), TextColumn("ETA"), TimeRemainingColumn(),
               TextColumn("{task.fields[counts]}")]
    result = asyncio.create_task(bc.wait(batch_id))
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(batch_id, total=None, counts="", elapsed="")
            while not result.done():
                _show(bar, task, await bc.progress(batch_id))
                await asyncio.wait([result], timeout=POLL_S)
            _show(bar, task, await bc.progress(batch_id))
        summary = await result
    finally:
        result.cancel()
    _print_summary(summary)
    return 0 if summary.failed == 0 else 1


def _show(bar: Progress, task: Any, p: BatchProgress) -> None:
    counts = f"done {p.done}  failed {p.failed}  in flight {p.in_flight}  ${p.cost_usd:.4f}"
    label = "retry round " + str(p.round) if p.mode == "failed" else "items"
    minutes, seconds = divmod(int(p.elapsed_s), 60)
    bar.update(task, total=p.to_run, completed=p.finished, counts=counts, description=label,
               elapsed=f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}")


def _print_summary(s: BatchSummary) -> None:
    rate = s.ran / s.elapsed_s if s.elapsed_s > 0 else 0.0
    console.print(f"batch [bold]{s.batch_id}[/]: {s.done} done, {s.failed} failed of {s.total}; ran {s.ran} in "
                  f"{s.elapsed_s:.1f} s ({rate:.1f} items/s), cost ${s.cost_usd:.6f}, {s.runs} run(s)")
    if s.failed:
        console.print(f"re-run the failed items with `switchyard batch retry-failed {s.batch_id}`")
