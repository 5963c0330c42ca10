"""Live streaming through the Switchyard gateway vs the simulator directly, next to the LiteLLM proxy.

One run, one simulator (streamed answers: first token after ``TTFT_MS``, then ``TOKENS_PER_S``
tokens per second, ``TOKENS`` tokens), three endpoints as in ``bench/gateway.py`` (the gateway as its
own process on the embedded dev server + SQLite, auth on; the LiteLLM proxy as its own process
with the same chain and fallbacks):

1. **TTFT and inter-chunk delay** at each concurrency level: time to the first content chunk and
   the mean gap between content chunks (ms), p50/p99, and what each gateway adds over direct.
2. **Rescue**: the primary cuts every stream after ``CUT_AFTER`` tokens. Switchyard: the rescue gap
   (the longest pause between two content chunks of a rescued stream, ms) against the backup's
   own first-token time, and whether the text is whole; LiteLLM: how many answers come back whole.
3. **Many open streams**: ``--streams`` concurrent slow streams through the gateway; errors, and
   the gateway process's resident memory before and at the peak (memory per open stream).

    python -m bench.streaming [--quick] [--levels 1,8,64] [--requests 60] [--streams 1000]

Figures and ratios are printed and written to ``bench/results/streaming.json``. The machine is
shared and noisy: read the ratios (same run, same machine), not the absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.gateway import _start_gateway, _start_litellm, free_port, spawn, stop, wait_http
from bench.overhead import MESSAGES
from core import search_attributes
from core.stats import percentile
from worker.devserver import temporal_binary

PRIMARY = "openai/gpt-4o@us-east"
TARGETS = [PRIMARY, "openai/gpt-4o@eu-west", "anthropic/claude-3-5-sonnet@us-east",
           "gemini/gemini-2.0-flash@us-central", "openai/local-llama-3.1-8b@local"]
TTFT_MS, TOKENS_PER_S, TOKENS, CUT_AFTER = 200, 100, 60, 20
SCENARIO = {"name": "bench-streaming", "source": "synthetic", "summary": "fixed streamed answers", "seed": 3,
            "time_scale": 1,
            "baseline": {"latency_ms": {"median": 800, "p99": 800}, "ttft_ms": {"median": TTFT_MS, "p99": TTFT_MS},
                         "tokens_per_s": TOKENS_PER_S, "output_tokens": {"median": TOKENS, "p99": TOKENS},
                         "error_rate": 0.0},
            "targets": {t: {} for t in TARGETS}, "timeline": []}


@dataclass
class Stream:
    """One streamed answer as the client saw it (ms from the request)."""

    ttft_ms: float | None
    gaps_ms: list[float]
    text: str
    done: bool          # [DONE] arrived
    error: str | None = None


async def one_stream(http: httpx.AsyncClient, url: str, key: str | None) -> Stream:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True, "max_tokens": 400}
    t0 = time.perf_counter()
    times: list[float] = []
    parts: list[str] = []
    done = False
    try:
        async with http.stream("POST", url, json=body, headers=headers) as r:
            if r.status_code != 200:
                return Stream(None, [], "", False, f"HTTP {r.status_code}")
            async for line in r.aiter_lines():
                if line.startswith("data: [DONE]"):
                    done = True
                elif line.startswith("data: {"):
                    d = json.loads(line[6:])
                    if d.get("error"):
                        return Stream(None, [], "".join(parts), False, "error event")
                    c = (d.get("choices") or [{}])[0].get("delta", {}).get("content") if d.get("choices") else None
                    if c:
                        times.append((time.perf_counter() - t0) * 1000)
                        parts.append(c)
    except httpx.HTTPError as e:
        return Stream(None, [], "".join(parts), False, type(e).__name__)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return Stream(times[0] if times else None, gaps, "".join(parts), done)


def _p(xs: list[float], q: float) -> float:
    return percentile(xs, q) if xs else float("nan")


async def level(http: httpx.AsyncClient, url: str, key: str | None, n: int, c: int) -> dict:
    """``n`` streams, ``c`` at a time: TTFT and mean inter-chunk gap percentiles (ms), errors."""
    out: list[Stream] = []
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            out.append(await one_stream(http, url, key))
    await asyncio.gather(*(worker() for _ in range(c)))
    ttft = [s.ttft_ms for s in out if s.ttft_ms is not None]
    gap = [sum(s.gaps_ms) / len(s.gaps_ms) for s in out if s.gaps_ms]
    return {"ttft_p50": _p(ttft, 50), "ttft_p99": _p(ttft, 99), "gap_p50": _p(gap, 50),
            "errors": sum(1 for s in out if s.error or not s.done), "n": len(out)}


async def rescue(http: httpx.AsyncClient, sim: str, urls: dict, n: int) -> dict:
    """The primary cuts after ``CUT_AFTER`` tokens: whole answers and the rescue gap per system."""
    whole = (await one_stream(http, urls["direct"][0], None)).text
    (await http.post(f"{sim}/_sim/apply", json={"target": PRIMARY, "set": {
        "stream_fault": "cut", "stream_fault_after_tokens": CUT_AFTER}})).raise_for_status()
    res = {}
    for name in ("switchyard", "litellm"):
        url, key = urls[name]
        got = [await one_stream(http, url, key) for _ in range(n)]
        gaps = [max(s.gaps_ms) for s in got if s.gaps_ms]
        res[name] = {"whole_answers": sum(1 for s in got if s.text == whole and s.done),
                     "truncated_as_success": sum(1 for s in got if s.done and len(s.text) < len(whole)),
                     "errors": sum(1 for s in got if s.error), "n": n,
                     "rescue_gap_p50_ms": _p(gaps, 50), "rescue_gap_p99_ms": _p(gaps, 99)}
    (await http.post(f"{sim}/_sim/apply", json={"target": PRIMARY, "reset": True})).raise_for_status()
    return res


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children threads (VmRSS, MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def many(sim: str, url: str, key: str, pid: int, n: int) -> dict:
    """``n`` streams open at once through the gateway (slow answers); errors and memory per stream."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * n + 256)), hard))
    async with httpx.AsyncClient(timeout=120) as http:
        (await http.post(f"{sim}/_sim/apply", json={"target": "*", "set": {"tokens_per_s": 10}})).raise_for_status()
    before, peak = rss_mb(pid), 0.0
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(timeout=180, limits=limits) as http:
        tasks = [asyncio.create_task(one_stream(http, url, key)) for _ in range(n)]
        while not all(t.done() for t in tasks):
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.5)
        got = [t.result() for t in tasks]
        (await http.post(f"{sim}/_sim/apply", json={"target": "*", "reset": True})).raise_for_status()
    errors = [s.error or "no [DONE]" for s in got if s.error or not s.done]
    return {"streams": n, "errors": len(errors), "error_kinds": sorted(set(errors))[:5], "rss_before_mb": before,
            "rss_peak_mb": peak, "kib_per_stream": (peak - before) * 1024 / n}


async def main(a: argparse.Namespace) -> dict:
    levels = [int(x) for x in a.levels.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        (tmpd / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
        sim_port, gw_port, ll_port = free_port(), free_port(), free_port()
        sim = f"http://127.0.0.1:{sim_port}"
        procs = [spawn([sys.executable, "-m", "simulator", str(tmpd / "scenario.yaml"), "--port", str(sim_port)],
                       tmpd / "sim.log", {})]
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
            data_converter=pydantic_data_converter, dev_server_database_filename=str(tmpd / "temporal.db"),
            dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"])
        try:
            async with env:
                await wait_http(f"{sim}/_sim/state", procs[0], 30, tmpd / "sim.log")
                key = await _start_gateway(tmpd, sim, gw_port, env.client.service_client.config.target_host, procs)
                gw_pid = procs[-1].pid
                _start_litellm(tmpd, sim, ll_port, procs)
                await wait_http(f"http://127.0.0.1:{ll_port}/health/liveliness", procs[-1], 300, tmpd / "litellm.log")
                urls = {"direct": (f"{sim}/r/us-east/v1/chat/completions", None),
                        "switchyard": (f"http://127.0.0.1:{gw_port}/v1/chat/completions", key),
                        "litellm": (f"http://127.0.0.1:{ll_port}/v1/chat/completions", "sk-bench-master")}
                out: dict = {"levels": {}}
                limits = httpx.Limits(max_connections=max(levels) * 2 + 10)
                async with httpx.AsyncClient(timeout=60, limits=limits) as http:
                    for url, k in urls.values():  # warm-up
                        await asyncio.gather(*(one_stream(http, url, k) for _ in range(4)))
                    for c in levels:
                        n = max(a.requests, c * 2)
                        out["levels"][c] = {name: await level(http, url, k, n, c) for name, (url, k) in urls.items()}
                        print(f"  concurrency {c}: done", file=sys.stderr)
                    out["rescue"] = await rescue(http, sim, urls, a.rescues)
                out["many"] = await many(sim, urls["switchyard"][0], key, gw_pid, a.streams)
        finally:
            for p in reversed(procs):
                stop(p)
    return out


def report(out: dict) -> None:
    print(f"\nbench/streaming: simulator TTFT {TTFT_MS} ms, {TOKENS_PER_S} tokens/s, {TOKENS} tokens per answer")
    for c, r in out["levels"].items():
        d = r["direct"]
        print(f"\nconcurrency {c}")
        print(f"{'':12}{'TTFT p50':>10}{'TTFT p99':>10}{'+p50 ms':>9}{'+p99 ms':>9}{'gap p50':>9}{'+gap':>7}"
              f"{'errors':>8}")
        for name, f in r.items():
            add = "" if name == "direct" else (f"{f['ttft_p50'] - d['ttft_p50']:>9.1f}"
                                               f"{f['ttft_p99'] - d['ttft_p99']:>9.1f}")
            gap = "" if name == "direct" else f"{f['gap_p50'] - d['gap_p50']:>7.1f}"
            print(f"{name:12}{f['ttft_p50']:>10.1f}{f['ttft_p99']:>10.1f}{add:>18}{f['gap_p50']:>9.1f}{gap:>7}"
                  f"{f['errors']:>8}")
        sy, ll = r["switchyard"]["ttft_p50"] - d["ttft_p50"], r["litellm"]["ttft_p50"] - d["ttft_p50"]
        verdict = "n/a" if ll <= 0 else f"{sy / ll:.2f}x ({'met' if sy <= ll else 'NOT met'}: goal <= 1)"
        print(f"added TTFT p50 switchyard/litellm: {verdict}")
    print("\nrescue (primary cuts after 20 tokens)")
    for name, f in out["rescue"].items():
        print(f"{name:12} whole {f['whole_answers']}/{f['n']}, truncated returned as success "
              f"{f['truncated_as_success']}, errors {f['errors']}, longest pause p50 {f['rescue_gap_p50_ms']:.0f} ms "
              f"p99 {f['rescue_gap_p99_ms']:.0f} ms")
    budget = 1000 + TTFT_MS
    g = out["rescue"]["switchyard"]["rescue_gap_p99_ms"]
    print(f"rescue gap goal: under 1 s + the backup's own TTFT ({budget} ms): p99 {g:.0f} ms "
          f"({'met' if g < budget else 'NOT met'})")
    m = out["many"]
    print(f"\n{m['streams']} streams open at once through the gateway: {m['errors']} errors "
          f"{m['error_kinds']}; gateway RSS {m['rss_before_mb']:.0f} -> {m['rss_peak_mb']:.0f} MiB, "
          f"{m['kib_per_stream']:.0f} KiB per stream")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="levels 1,8; 20 requests; 200 streams")
    ap.add_argument("--levels", default="1,8,64")
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--rescues", type=int, default=20)
    ap.add_argument("--streams", type=int, default=1000)
    args = ap.parse_args()
    if args.quick:
        args.levels, args.requests, args.streams, args.rescues = "1,8", 20, 200, 10
    result = asyncio.run(main(args))
    report(result)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/streaming.json").write_text(json.dumps(result, indent=2, default=str))

