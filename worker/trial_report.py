"""Report files of an eval run or drill: ``<run id>.json`` (the whole :class:`core.drill.TrialReport`)
and ``<run id>.html`` (a self-contained page: the per-target table and two inline SVG bar charts,
mean score and latency p50/p95; no scripts, no downloads).
"""

from __future__ import annotations

import html
from pathlib import Path

from core.drill import TargetSummary, TrialReport

_W, _ROW, _LABEL = 640, 26, 260
_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        ".fail{color:#b00020;font-weight:bold}.pass{color:#1b7f3b;font-weight:bold}")


def _bars(title: str, rows: list[tuple[str, list[tuple[float, str, str]]]], top: float, fmt: str) -> str:
    """A horizontal bar chart: per label, one bar per (value, colour, prefix of its value text,
    ``format(value, fmt)`` after it); ``top`` is the full width."""
    per = max((len(v) for _, v in rows), default=1)
    height = 30 + len(rows) * _ROW * per
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W + _LABEL + 80}" height="{height}" role="img">',
           f'<text x="0" y="16" font-size="14" font-weight="bold">{html.escape(title)}</text>']
    y = 28
    for label, values in rows:
        out.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>')
        for value, colour, prefix in values:
            w = 0 if top <= 0 else max(1, round(_W * value / top))
            out.append(f'<rect x="{_LABEL}" y="{y}" width="{w}" height="{_ROW - 6}" fill="{colour}"/>'
                       f'<text x="{_LABEL + w + 4}" y="{y + 14}" font-size="12">{prefix}{format(value, fmt)}</text>')
            y += _ROW
    out.append("</svg>")
    return "".join(out)


def _cell(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _row(s: TargetSummary, verdict: str) -> str:
    cells = [s.target, s.role, str(s.rank), str(s.samples), f"{s.success_rate:.0%}", f"{s.mean_score:.2f}",
             _cell(s.judge_mean, ".2f"), _cell(s.format_ok, ".0%"), _cell(s.mean_chars, ".0f"),
             _cell(s.latency_p50_ms, ".0f"), _cell(s.latency_p95_ms, ".0f")]
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{verdict}</td></tr>"


def render_html(report: TrialReport) -> str:
    """The HTML page of ``report`` (see module docstring)."""
    verdicts = {v.target: v for v in report.verdicts}

    def verdict(s: TargetSummary) -> str:
        v = verdicts.get(s.target)
        if v is None:
            return "baseline" if s.role == "primary" else ""
        return '<span class="pass">PASS</span>' if v.passed else \
            '<span class="fail">FAIL</span> ' + html.escape("; ".join(v.reasons))

    head = ["target", "role", "rank", "n", "answered", "score", "judge", "format", "chars", "p50 ms", "p95 ms",
            "verdict"]
    rows = "".join(_row(s, verdict(s)) for s in report.summaries)
    scores = _bars("Mean score (0..1)", [(s.target, [(s.mean_score, "#3b6ea5", "")]) for s in report.summaries],
                   1.0, ".2f")
    top = max((s.latency_p95_ms or 0.0 for s in report.summaries), default=0.0)
    lat = _bars("Latency p50 / p95 (ms)", [(s.target, [(s.latency_p50_ms or 0.0, "#7aa974", "p50 "),
                                                      (s.latency_p95_ms or 0.0, "#c9a227", "p95 ")])
                                          for s in report.summaries if s.answered], top, ".0f")
    status = "" if report.kind == "eval" else (
        '<p class="pass">Drill passed.</p>' if report.passed else
        f'<p class="fail">Drill failed: {html.escape(", ".join(report.failed_targets()))}</p>')
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{report.kind} {html.escape(report.route)}"
            f"</title><style>{_CSS}</style></head><body><h1>{report.kind} of route {html.escape(report.route)}</h1>"
            f"<p>run {html.escape(report.run_id)}, {len(report.samples)} answers, judge "
            f"{html.escape(report.judge_target or 'none')}</p>{status}<table><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + f"</tr>{rows}</table><p>{scores}</p><p>{lat}</p></body></html>")


def write_report(report: TrialReport, directory: Path) -> tuple[Path, Path]:
    """Write ``<run id>.json`` and ``<run id>.html`` under ``directory`` (created); returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = report.run_id.replace("/", "_")
    js, page = directory / f"{stem}.json", directory / f"{stem}.html"
    js.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    page.write_text(render_html(report), encoding="utf-8")
    return js, page
