"""``switchyard health`` and ``switchyard feedback``: the health layer from the command line.

``health`` reads the views workers publish to ``health_targets`` every 2 s (``activities/health/sync.py``)
and shows each target's state, score, breaker, traffic share, last drill result and reasons, refreshed live (rich
``Live``) or once (``--once``). ``feedback`` stores a thumbs up/down on a request's answer.
"""

from __future__ import annotations

import asyncio
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from activities.storage.drill_store import DrillRow, DrillStore
from activities.storage.engine import make_engine
from activities.storage.health import HealthStore, UnknownRequest
from core.health.view import TargetView
from worker.cli_db import migrated_engine
from worker.client import connect
from worker.feedback import submit_feedback
from worker.settings import Settings

_STYLE = {"healthy": "green", "degraded": "yellow", "down": "red"}


def _ago(s: float) -> str:
    return f"{s:.0f} s ago" if s < 90 else f"{s / 60:.0f} min ago" if s < 5400 else \
        f"{s / 3600:.0f} h ago" if s < 172_800 else f"{s / 86400:.0f} d ago"


def drill_cell(row: DrillRow | None, now: float) -> str:
    """The last drill of a target for the health table: ``pass 3 d ago``, ``FAIL 2 h ago: reasons``,
    ``primary ...`` (the yardstick of its route's drill) or ``-``."""
    if row is None:
        return "-"
    when = _ago(max(0.0, now - row.created_at))
    if row.role == "primary":
        return f"primary {when}"
    return f"[green]pass[/] {when}" if row.passed else f"[red]FAIL[/] {when}: {'; '.join(row.reasons)}"


def health_table(views: dict[str, TargetView], now: float,
                 drills: dict[str, DrillRow] | None = None) -> Table:
    """The table of ``switchyard health`` (one row per target; ``drills``: the last drill result
    per target, ``activities/storage/drill_store.py``)."""
    table = Table(title=f"Switchyard target health ({time.strftime('%H:%M:%S', time.localtime(now))})")
    for col in ("target", "state", "score", "breaker", "share", "updated", "last drill", "reasons"):
        table.add_column(col, no_wrap=col not in ("reasons", "last drill"),
                         justify="right" if col in ("score", "share") else "left")
    for v in views.values():
        style = _STYLE.get(v.state, "white")
        breaker = v.breaker + (f" ({v.open_until - now:.0f} s)" if v.open_until and v.open_until > now else "")
        table.add_row(v.target, f"[{style}]{v.state}[/]", f"{v.score:.2f}", breaker, f"{v.share:.0%}",
                      f"{now - v.updated_at:.0f} s ago", drill_cell((drills or {}).get(v.target), now),
                      "; ".join(v.reasons) or "-")
    if not views:
        table.caption = "no health published yet: start a worker (switchyard up / switchyard worker)"
    return table


async def show_health(settings: Settings, console: Console, *, once: bool, interval_s: float = 1.0) -> None:
    """Print the table once, or refresh it every ``interval_s`` until interrupted (the database is
    migrated first, so a fresh home shows an empty table instead of an error). Not on a terminal
    (piped, redirected), each refresh prints a new full-width snapshot instead of redrawing."""
    async with migrated_engine(settings) as engine:
        store, drills = HealthStore(engine), DrillStore(engine)

        async def table() -> Table:
            return health_table(await store.current(), time.time(), await drills.latest_by_target())

        if once:
            console.print(await table())
            return
        if not console.is_terminal:  # piped or logged: one snapshot per refresh (the CLI's console is wide)
            while True:
                console.print(await table())
                await asyncio.sleep(interval_s)
        with Live(await table(), console=console, auto_refresh=False) as live:
            while True:
                await asyncio.sleep(interval_s)
                live.update(await table(), refresh=True)


async def send_feedback(settings: Settings, console: Console, workflow_id: str, positive: bool,
                        comment: str) -> int:
    """Store a vote; returns the exit code (0, or 1 for an unknown request)."""
    engine = make_engine(settings.db_url())
    try:
        rec = await submit_feedback(await connect(settings), HealthStore(engine), workflow_id, positive, comment)
    except UnknownRequest as e:
        console.print(f"[red]error:[/] {e}")
        return 1
    finally:
        await engine.dispose()
    console.print(f"stored thumbs {'up' if positive else 'down'} for {rec.workflow_id} "
                  f"(answer of {rec.target}, attempt {rec.seq}.{rec.try_no})")
    return 0
