"""``switchyard prompts list|show|pin|reject``: review the prompt rewrites of ``prompts.transform``.

Rewrites live in ``DATABASE_URL`` (or the embedded SQLite), one per (route, target family, source
prompt) (``core/prompt_transform.py``). ``list`` shows id, route, family, status, cost (USD) and
latency (ms) of the rewrite call; ``show ID`` prints the source and the rewrite; ``pin ID`` makes the
rewrite the text sent to that family (``--file`` pins an edited text instead); ``reject ID`` stops it
from being sent and from being written again. IDs may be shortened to a unique prefix (4+ chars).
Each command applies the migrations first, so it works on a fresh ``SWITCHYARD_HOME``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from activities.storage.prompt_rewrites import RewriteRow, RewriteStore
from core.prompt_transform import STATUSES
from core.prompt_variants import template_fields
from worker.cli_db import migrated_engine
from worker.render import cli_console
from worker.settings import Settings

prompts_app = typer.Typer(help="Review prompt rewrites (routes' prompts.transform).", no_args_is_help=True)
console = cli_console()
T = TypeVar("T")


def _with_store(fn: Callable[[RewriteStore], Awaitable[T]]) -> T:
    async def _run() -> T:
        async with migrated_engine(Settings()) as engine:
            return await fn(RewriteStore(engine))
    return asyncio.run(_run())


def _fail(message: str, code: int = 2) -> None:
    cli_console(stderr=True).print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


@prompts_app.command("list")
def list_rewrites(route: Annotated[str | None, typer.Option(help="Only this route.")] = None,
                  status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
                  ) -> None:
    """List rewrites, newest first, with the cost and latency of the call that wrote each."""
    if status is not None and status not in STATUSES:
        _fail(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    rows = _with_store(lambda store: store.list(route, status))
    spent = sum(r.cost_usd for r in rows)
    table = Table(title=f"{len(rows)} prompt rewrite(s), ${spent:.6f} spent writing them", title_justify="left")
    for col in ("id", "route", "family", "status", "by", "cost $", "latency ms", "updated", "error"):
        table.add_column(col, justify="right" if col in ("cost $", "latency ms") else "left")
    for r in rows:
        latency = "-" if r.latency_ms is None else f"{r.latency_ms:.0f}"
        table.add_row(r.id, r.route, r.family, r.status, r.by_target, f"{r.cost_usd:.6f}", latency,
                      _when(r.updated_at), r.error[:60])
    console.print(table)


@prompts_app.command("show")
def show(rewrite_id: Annotated[str, typer.Argument(help="Rewrite id (or a unique prefix).")]) -> None:
    """Print one rewrite: its key, status, cost, the source prompt and the rewritten one."""
    row = _with_store(lambda store: store.by_id(rewrite_id))
    if row is None:
        _fail(f"no rewrite {rewrite_id!r} (or the prefix is not unique)")
    assert row is not None
    console.print(f"[bold]{row.id}[/] route {row.route}, family {row.family}, status [bold]{row.status}[/], "
                  f"written by {row.by_target} for ${row.cost_usd:.6f} in {row.latency_ms or 0:.0f} ms "
                  f"({row.prompt_tokens} + {row.completion_tokens} tokens); reviewed {_when(row.reviewed_at)}",
                  highlight=False)
    if row.error:
        console.print(f"error: {row.error}", highlight=False)
    console.rule("source")
    print(row.source_text)
    console.rule("rewrite")
    print(row.text or "(none)")


def _pinnable(row: RewriteRow | None, text: str | None, rewrite_id: str) -> None:
    if row is None:
        _fail(f"no rewrite {rewrite_id!r} (or the prefix is not unique)")
    assert row is not None
    if text is None and not row.text:
        _fail(f"rewrite {row.id} has no text yet (status {row.status}); pin an edited one with --file")
    try:
        unknown = set(template_fields(text)) - set(template_fields(row.source_text)) if text else set()
    except ValueError as e:
        _fail(f"the text has a malformed placeholder: {e}")
        return
    if unknown:
        _fail(f"the text names placeholders the source does not: {', '.join(sorted(unknown))}")


@prompts_app.command("pin")
def pin(rewrite_id: Annotated[str, typer.Argument(help="Rewrite id (or a unique prefix).")],
        file: Annotated[Path | None, typer.Option(help="Pin this (edited) text instead of the rewrite.")] = None,
        ) -> None:
    """Pin a rewrite: from now on it is the system prompt sent to its family on its route."""
    text = file.read_text(encoding="utf-8").strip() if file is not None else None
    row = _with_store(lambda store: store.by_id(rewrite_id))
    _pinnable(row, text, rewrite_id)
    assert row is not None
    done = _with_store(lambda store: store.review(row.id, "pinned", time.time(), text))
    assert done is not None
    console.print(f"pinned {done.id}: route {done.route}, family {done.family}", highlight=False)


@prompts_app.command("reject")
def reject(rewrite_id: Annotated[str, typer.Argument(help="Rewrite id (or a unique prefix).")]) -> None:
    """Reject a rewrite: never sent, and not written again for the same source prompt."""
    done = _with_store(lambda store: store.review(rewrite_id, "rejected", time.time()))
    if done is None:
        _fail(f"no rewrite {rewrite_id!r} (or the prefix is not unique)")
    assert done is not None
    console.print(f"rejected {done.id}: route {done.route}, family {done.family}", highlight=False)
