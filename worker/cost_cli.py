"""``switchyard cost``: spend per tenant, route and target over a period, failover's extra cost apart.

Reads the outcome rows of the period from the database (no Temporal server needed) and prices
failovers with the config's target prices (``core/cost_report.py`` defines the extra cost).
Periods: ``day`` (since 00:00 UTC), ``month`` (since the 1st, 00:00 UTC), ``all``, or
``--hours N`` back from now. ``--json`` prints the :class:`core.cost_report.CostReport` instead.
"""

from __future__ import annotations

import datetime as dt
import time

from rich.console import Console
from rich.table import Table

from activities.storage.cost_queries import cost_rows
from core.cost_report import CostLine, CostReport, build_report
from worker.cli_db import migrated_engine
from worker.config_loader import load_config
from worker.settings import Settings

PERIODS = ("day", "month", "all")


def period_start(period: str, now: float, hours: float | None = None) -> float:
    """Unix s the period starts: ``hours`` back from ``now`` when given, else the UTC day or month
    start, or 0 for ``all``. Raises ``ValueError`` for an unknown period."""
    if hours is not None:
        return now - hours * 3600.0
    t = dt.datetime.fromtimestamp(now, dt.UTC)
    if period == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    if period == "month":
        return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    if period == "all":
        return 0.0
    raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


async def cost_report(settings: Settings, since: float, until: float, *, tenant: str | None = None,
                      route: str | None = None) -> CostReport:
    """The report of ``[since, until)`` with the prices of the settings' config."""
    cfg = load_config(settings.config_path())
    prices = {t.id: t.price for t in cfg.targets}
    async with migrated_engine(settings) as engine:
        rows = await cost_rows(engine, since, until, tenant=tenant, route=route)
    return build_report(rows, prices)


def _table(title: str, lines: list[CostLine], total: CostLine) -> Table:
    table = Table(title=title)
    for col in ("", "requests", "calls", "answered", "spend USD", "failed over", "failover extra USD", "extra share"):
        table.add_column(col, justify="left" if not col else "right")
    for ln in [*lines, total]:
        share = f"{ln.failover_extra_usd / ln.spend_usd:+.1%}" if ln.spend_usd else "-"
        style = "bold" if ln is total else ""
        table.add_row(ln.key, str(ln.requests), str(ln.calls), str(ln.answered), f"{ln.spend_usd:.6f}",
                      str(ln.failed_over), f"{ln.failover_extra_usd:+.6f}", share, style=style)
    return table


def print_report(console: Console, report: CostReport, since: float, until: float) -> None:
    """The three tables (tenant, route, target) with a total line each."""
    span = (f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(since))} to "
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(until))} UTC") if since else "all time"
    for kind, lines in (("tenant", report.by_tenant), ("route", report.by_route), ("target", report.by_target)):
        console.print(_table(f"Spend per {kind}, {span}", lines, report.total))
    console.print("failover extra = what failed-over requests paid minus what their first target would have "
                  "charged for the same tokens (negative: the backup was cheaper).")
    if report.unpriced_primaries:
        console.print(f"[yellow]not priced (no longer configured):[/] {', '.join(report.unpriced_primaries)}")
