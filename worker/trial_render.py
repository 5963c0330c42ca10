"""Terminal tables of eval runs and drills (rich): one row per target, the figures of
:class:`core.drill.TargetSummary` and, for a drill, each backup's verdict."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from core.drill import TargetSummary, TrialReport, Verdict


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _verdict(s: TargetSummary, verdicts: dict[str, Verdict]) -> str:
    if s.role == "primary":
        return "baseline"
    v = verdicts.get(s.target)
    if v is None:
        return ""
    return "[green]PASS[/]" if v.passed else "[red]FAIL[/]: " + "; ".join(v.reasons)


def trial_table(report: TrialReport) -> Table:
    """Rank (eval), target, role, samples, answered share, mean score, judge mean, share of answers
    without quality flags, mean length (chars), latency p50/p95 (ms) and the verdict (drill)."""
    when = datetime.fromtimestamp(report.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    kind = "live drill" if report.live else report.kind
    title = f"{kind} of route {report.route} ({when}, run {report.run_id})"
    table = Table(title=title, title_justify="left")
    drill = report.kind == "drill"
    cols = ["target", "role", "n", "answered", "score", "judge", "format", "chars", "p50 ms", "p95 ms"]
    cols = (cols + ["verdict"]) if drill else ["rank", *cols]
    for c in cols:
        table.add_column(c, justify="left" if c in ("target", "role", "verdict") else "right")
    verdicts = {v.target: v for v in report.verdicts}
    for s in report.summaries:
        row = [s.target, s.role, str(s.samples), f"{s.success_rate:.0%}", f"{s.mean_score:.2f}",
               _num(s.judge_mean, ".2f"), _num(s.format_ok, ".0%"), _num(s.mean_chars, ".0f"),
               _num(s.latency_p50_ms, ".0f"), _num(s.latency_p95_ms, ".0f")]
        table.add_row(*((row + [_verdict(s, verdicts)]) if drill else [str(s.rank), *row]))
    return table


def print_trial(console: Console, report: TrialReport) -> None:
    """The table, then for a drill one line: passed, or the targets that failed."""
    console.print(trial_table(report))
    if report.kind != "drill":
        return
    primary = next((s for s in report.summaries if s.role == "primary"), None)
    if primary is not None and primary.success_rate < report.thresholds.min_success_rate:
        console.print(f"[yellow]warning[/]: the primary {primary.target} answered {primary.success_rate:.0%}, so "
                      f"there is no baseline to compare with: backups were judged on the absolute thresholds "
                      f"only (score >= {report.thresholds.min_score:g}, success >= "
                      f"{report.thresholds.min_success_rate:.0%}). Run the drill again when the primary is up.")
    if report.passed:
        console.print(f"[green]drill passed[/]: {len(report.verdicts)} backup(s) within thresholds "
                      f"(score >= {report.thresholds.min_score_ratio:g} x primary, p95 <= "
                      f"{report.thresholds.max_latency_ratio:g} x primary, success >= "
                      f"{report.thresholds.min_success_rate:.0%})")
    else:
        console.print(f"[red]drill FAILED[/]: {', '.join(report.failed_targets())}")
