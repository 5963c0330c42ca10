"""Client side and figures of ``bench/streaming.py``: read SSE chat streams with timings,
summarise them, print the tables.

:func:`read_stream` posts an OpenAI Chat Completions body with ``stream: true`` (httpx, in this
process) and records, per content chunk (a ``choices[].delta.content`` that is not empty), the
time since the request was sent (ms, ``time.perf_counter``) and the answer's length after it
(chars). Role-only chunks, keep-alive comments, the finish and usage chunks are not content.
:func:`summary` turns many reads into p50/p99 time to first token (TTFT, ms) and inter-chunk gaps
(ms, pooled over every stream). :func:`rss_kb` reads a process's resident set size (psutil when
installed, else ``VmRSS`` of ``/proc/<pid>/status``, in KiB). :func:`print_report` prints the
results of ``bench/streaming.py`` as tables (rich) with ratios and the issue's goals.
"""

from __future__ import annotations

import asyncio
import json
import math
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from core.stats import percentile


@dataclass
class Read:
    """One streamed response as the client saw it (times in ms since the request was sent)."""

    times: list[float] = field(default_factory=list)  # per content chunk
    ends: list[int] = field(default_factory=list)  # answer length (chars) after each content chunk
    text: str = ""
    finish: str | None = None  # the last finish_reason seen
    done: bool = False  # ``data: [DONE]`` arrived
    error: str | None = None  # non-200 status, in-stream error event, transport error
    headers_ms: float | None = None  # when the response head arrived
    ended: bool = False  # the response is over (whatever the outcome)

    @property
    def ttft_ms(self) -> float | None:
        return self.times[0] if self.times else None

    @property
    def gaps_ms(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:], strict=False)]

    @property
    def complete(self) -> bool:
        """Ended as a success: a finish reason, ``[DONE]``, no error event."""
        return self.error is None and self.done and self.finish is not None


def _take(read: Read, data: str, t0: float) -> None:
    """Fold one ``data:`` payload into ``read``."""
    if data == "[DONE]":
        read.done = True
        return
    try:
        obj = json.loads(data)
    except ValueError:
        read.error = read.error or f"unparseable frame {data[:80]!r}"
        return
    if "error" in obj and not obj.get("choices"):
        read.error = f"error event: {json.dumps(obj['error'])[:200]}"
        return
    for choice in obj.get("choices") or []:
        piece = (choice.get("delta") or {}).get("content")
        if piece:
            read.times.append((time.perf_counter() - t0) * 1000)
            read.text += piece
            read.ends.append(len(read.text))
        if choice.get("finish_reason"):
            read.finish = choice["finish_reason"]


async def read_stream(http: httpx.AsyncClient, url: str, body: dict[str, Any], key: str | None,
                      read: Read | None = None) -> Read:
    """POST ``body`` (``stream`` forced on) and read the whole SSE response into ``read`` (a new
    one if not given; filled as the chunks come, so others can watch it). Never raises for a failed
    request: the failure is in ``Read.error``."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    read = read or Read()
    t0 = time.perf_counter()
    try:
        async with http.stream("POST", url, json={**body, "stream": True}, headers=headers) as r:
            read.headers_ms = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                read.error = f"HTTP {r.status_code}: {(await r.aread())[:200]!r}"
                return read
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    _take(read, line[5:].strip(), t0)
    except httpx.HTTPError as e:
        read.error = f"{type(e).__name__}: {e}"[:200]
    finally:
        read.ended = True
    return read


async def run_streams(send: Callable[[], Awaitable[Read]], n: int, concurrency: int) -> tuple[list[Read], float]:
    """``n`` streams from ``concurrency`` workers; returns the reads and the wall time (s)."""
    todo = iter(range(n))
    reads: list[Read] = []

    async def worker() -> None:
        for _ in todo:
            reads.append(await send())
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return reads, time.perf_counter() - t0


def _p(xs: list[float], q: float) -> float:
    return round(percentile(xs, q), 1) if xs else math.nan


def summary(reads: list[Read], reference: str | None = None) -> dict[str, Any]:
    """TTFT p50/p99 (ms), inter-chunk gap mean/p50/p99 (ms, pooled), mean content chunks per
    answer, error count, and (with ``reference``, the expected answer text) how many answers
    came back whole, i.e. the same text, a finish reason and ``[DONE]``."""
    ok = [r for r in reads if r.error is None and r.times]
    ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
    gaps = [g for r in ok for g in r.gaps_ms]
    out = {"n": len(reads), "errors": sum(r.error is not None for r in reads),
           "ttft_p50": _p(ttft, 50), "ttft_p99": _p(ttft, 99),
           "gap_mean": round(sum(gaps) / len(gaps), 1) if gaps else math.nan,
           "gap_p50": _p(gaps, 50), "gap_p99": _p(gaps, 99),
           "chunks": round(sum(len(r.times) for r in ok) / len(ok), 1) if ok else math.nan}
    if reference is not None:
        out["whole"] = sum(r.complete and r.text == reference for r in reads)
        out["truncated_success"] = sum(r.complete and len(r.text) < len(reference) for r in reads)
    samples = [r.error for r in reads if r.error]
    if samples:
        out["error_samples"] = sorted(set(samples))[:3]
    return out


def rescue_gap(read: Read, cut_chars: int) -> float | None:
    """ms between the last content chunk that ends at or before ``cut_chars`` (what the failed
    target sent) and the first that goes past it (the next target's first token); ``None`` when
    the stream never got past the cut."""
    before = [t for t, end in zip(read.times, read.ends, strict=True) if end <= cut_chars]
    after = [t for t, end in zip(read.times, read.ends, strict=True) if end > cut_chars]
    return after[0] - before[-1] if before and after else None


def rss_kb(pid: int) -> int:
    """Resident set size (KiB) of ``pid`` and its descendants (psutil if installed, else the
    ``VmRSS`` of ``/proc/<pid>/status`` of every process whose process group is ``pid``: the bench
    starts each system as its own session, so that is the system and its children)."""
    try:
        import psutil  # noqa: PLC0415 - optional
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) // 1024
    except ImportError:
        pass
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[2]) != pid:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total


def raise_fd_limit(want: int) -> int:
    """Raise this process's soft open-files limit towards ``want`` (capped by the hard limit);
    children started afterwards inherit it. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def _f(x: float | None, digits: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def ratio(ours: float, theirs: float) -> float | None:
    """``ours / theirs`` (added ms of Switchyard over added ms of LiteLLM); ``None`` when LiteLLM
    added nothing measurable (<= 0.5 ms), where a ratio means nothing."""
    return ours / theirs if theirs > 0.5 else None


def _ttft_table(c: str, rows: dict[str, dict[str, Any]]) -> Table:
    d = rows["direct"]
    t = Table(title=f"TTFT and inter-chunk delay, concurrency {c} (ms)", title_justify="left")
    for col in ("", "TTFT p50", "TTFT p99", "+p50", "+p99", "gap mean", "+gap", "gap p99", "chunks", "errors", "n"):
        t.add_column(col, justify="left" if not col else "right")
    for name, f in rows.items():
        added = ["", "", ""] if name == "direct" else [
            _f(f["ttft_p50"] - d["ttft_p50"]), _f(f["ttft_p99"] - d["ttft_p99"]), _f(f["gap_mean"] - d["gap_mean"])]
        t.add_row(name, _f(f["ttft_p50"]), _f(f["ttft_p99"]), added[0], added[1], _f(f["gap_mean"]), added[2],
                  _f(f["gap_p99"]), _f(f["chunks"]), str(f["errors"]), str(f["n"]))
    return t


def goals(res: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The issue's three goals: (goal, measured, met)."""
    out = []
    for c, rows in res["ttft"].items():
        d, sy, ll = rows["direct"], rows["switchyard"], rows["litellm"]
        add_sy, add_ll = sy["ttft_p50"] - d["ttft_p50"], ll["ttft_p50"] - d["ttft_p50"]
        r = ratio(add_sy, add_ll)
        out.append((f"TTFT added p50 <= LiteLLM's (c={c})",
                    f"{add_sy:.1f} vs {add_ll:.1f} ms" + (f" = {r:.2f}x" if r is not None else ""), add_sy <= add_ll))
    rs = res["rescue"]
    budget = 1000 + rs["next_target_ttft"]["ttft_p50"]
    gaps = rs["switchyard"]["gaps_ms"]
    worst = max(gaps) if gaps else math.nan
    out.append((f"rescue gap < 1 s + next TTFT ({budget:.0f} ms)",
                f"max {worst:.0f} ms over {len(gaps)} rescues", bool(gaps) and worst < budget))
    o = res["open"]["switchyard"]
    out.append((f"{o['streams']} concurrent streams, embedded default, no errors",
                f"{o['errors']} errors, peak {o['peak_streaming']} streaming at once",
                o["errors"] == 0 and o["streams"] >= 1000 and o["peak_streaming"] >= 1000))
    return out


def print_report(res: dict[str, Any]) -> None:
    """Every table of a ``bench/streaming.py`` result (its JSON shape)."""
    con = Console(width=140)
    run = res["run"]
    con.print(f"\nbench/streaming ({run['plan']}, {run['date']}, {run['seconds']} s, {run['cores']} cores, "
              f"load {run['load_avg']}): simulator TTFT 200 ms, 100 tokens in 25 chunks over 1.2 s")
    for c, rows in res["ttft"].items():
        con.print(_ttft_table(c, rows))
        d, sy, ll = rows["direct"], rows["switchyard"], rows["litellm"]
        parts = []
        for key, label in (("ttft_p50", "TTFT p50"), ("ttft_p99", "TTFT p99"), ("gap_mean", "gap")):
            r = ratio(sy[key] - d[key], ll[key] - d[key])
            parts.append(f"{label} {_f(r, 2)}x" if r is not None else f"{label} n/a (LiteLLM adds <= 0.5 ms)")
        con.print("added ms switchyard / litellm: " + ", ".join(parts))
    rs = res["rescue"]
    nxt = rs["next_target_ttft"]["ttft_p50"]
    t = Table(title=f"Rescue: primary cuts after {rs['cut_after_chars']} of {rs['reference_chars']} chars; next "
                    f"target's own TTFT p50 {nxt:.0f} ms (ms)", title_justify="left")
    for col in ("", "requests", "cut by primary", "gap measured", "whole", "truncated as success", "errors",
                "gap p50", "gap max", "gap p50 - next TTFT"):
        t.add_column(col, justify="left" if not col else "right")
    for name in ("switchyard", "litellm"):
        f = rs[name]
        g = f["gaps_ms"]
        p50 = percentile(g, 50) if g else None
        t.add_row(name, str(f["n"]), str(f["cut_by_primary"]), str(f["rescued"]), str(f["whole"]),
                  str(f["truncated_success"]), str(f["errors"]), _f(p50), _f(max(g) if g else None),
                  _f(p50 - nxt if p50 is not None else None))
    con.print(t)
    t = Table(title="Open streams at once (slow answers: 40 tokens over 10 s)", title_justify="left")
    for col in ("", "streams", "errors", "complete", "peak streaming", "at s", "TTFT p50", "TTFT p99",
                "RSS before MiB", "RSS peak MiB", "KiB/stream"):
        t.add_column(col, justify="left" if not col else "right")
    for name, o in res["open"].items():
        t.add_row(name, str(o["streams"]), str(o["errors"]), str(o["complete"]), str(o["peak_streaming"]),
                  _f(o["peak_at_s"]), _f(o["ttft_p50"]), _f(o["ttft_p99"]), _f(o["rss_before_kb"] / 1024),
                  _f(o["rss_peak_kb"] / 1024), _f(o["kb_per_stream"]))
        for sample in o.get("error_samples", []):
            con.print(f"  {name} error: {sample}")
    con.print(t)
    t = Table(title="Goals", title_justify="left")
    for col in ("goal", "measured", "met"):
        t.add_column(col)
    for goal, got, met in goals(res):
        t.add_row(goal, got, "met" if met else "NOT met")
    con.print(t)
