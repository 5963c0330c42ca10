"""Terminal rendering (rich) of answers, routing traces and stack status."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.table import Table

from core.request import RequestResult, RoutingTrace
from worker.stack import StackStatus

#: Width (characters) of tables written to a pipe or file, where rich would assume 80 and cut ids.
PIPED_WIDTH = 200


def cli_console(stderr: bool = False) -> Console:
    """A rich console for CLI output: the terminal's width on a terminal; :data:`PIPED_WIDTH`
    when piped or redirected (unless ``COLUMNS`` says otherwise), so ids stay whole for copying."""
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, width=PIPED_WIDTH if piped else None)


def trace_table(trace: RoutingTrace) -> Table:
    """One row per provider call: seq.try, target, result, status, latency ms, chars of a streamed
    answer this call produced (a rescued stream has several), message."""
    rescued = f", {trace.rescues} rescue(s)" if trace.rescues else ""
    cached = ""
    if trace.cache is not None:
        cached = f", cache {trace.cache}"
        if trace.cache_age_s is not None:
            cached += f" (age {trace.cache_age_s:.0f} s, saved ${trace.saved_usd:.6f})"
    table = Table(title=f"routing trace: route {trace.route}, {trace.failovers} failover(s){rescued}{cached}, "
                        f"{trace.latency_ms:.0f} ms, ${trace.cost_usd:.6f}")
    for col in ("#", "target", "result", "status", "latency ms", "streamed chars", "message"):
        table.add_column(col)
    for a in trace.attempts:
        table.add_row(f"{a.seq}.{a.try_no}", a.target, a.error_class or "[green]answered[/]",
                      str(a.status or ""), f"{a.latency_ms:.0f}",
                      "" if a.streamed_chars is None else str(a.streamed_chars), a.message[:80])
    return table


def print_result(console: Console, result: RequestResult, *, show_answer: bool = True) -> None:
    """The answer text (unless it was streamed already), then the trace table and plan notes."""
    if show_answer:
        text = result.response.text() if result.response else f"(stored as {result.response_ref})"
        console.print(f"[bold]{result.trace.target_used}[/] answered:\n")
        console.print(text, markup=False, highlight=False)
        console.print()
    else:
        rescued = f", rescued {result.trace.rescues} time(s)" if result.trace.rescues else ""
        console.print(f"[bold]{result.trace.target_used}[/] finished the answer{rescued}")
    console.print(trace_table(result.trace))
    for target, why in result.trace.skipped.items():
        console.print(f"  skipped {target}: {why}")
    for note in result.trace.notes:
        console.print(f"  note: {note}")


def print_status(console: Console, st: StackStatus) -> None:
    """Where each piece of the embedded stack is, and what ``up`` started or reused."""
    console.print(f"Temporal   {st.temporal_address}   UI {st.ui_url}")
    console.print(f"Database   {st.database_url}")
    console.print(f"Worker     pid {st.worker_pid or '(not running)'}   config {st.config_path or '-'}")
    console.print(f"Gateway    {st.gateway_url or '(not running)'}   (OpenAI base_url: <gateway>/v1)")
    if st.learning_schedule:
        console.print(f"Learning   schedule switchyard-learning {st.learning_schedule}")
    if st.drill_schedules:
        console.print("Drills     " + ", ".join(f"{r} {o}" for r, o in st.drill_schedules.items()))
    if st.started:
        console.print(f"started: {', '.join(st.started)}")
    if st.reused:
        console.print(f"already running: {', '.join(st.reused)}")
