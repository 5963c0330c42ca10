"""Live streaming through Switchyard vs the simulator directly, next to the LiteLLM proxy, one run.

The stack is ``bench/gateway.py``'s: the provider simulator, ``switchyard gateway`` as its own
process (auth on, the embedded default: Temporal dev server with a WAL SQLite file, SQLite
database, in-process request worker, eager start, the in-process delta hub) and the LiteLLM proxy
(``litellm[proxy]``, the ``bench`` extra) as its own process with the same chain (``support_reply``:
gpt-4o us-east, gpt-4o eu-west, claude-3-5-sonnet, gemini-2.0-flash, local llama) as fallbacks.
Every target streams 100 tokens (400 chars, 25 content chunks of 16 chars) with a first token
after exactly 200 ms and the whole answer after 1200 ms, so chunks come 41.7 ms apart
(``SCENARIO``). Clients: httpx in this process (``bench/stream_figures.py``).

1. **TTFT and inter-chunk delay** at concurrency 1, 8, 64 (``--quick``: 1, 8) for direct
   (``/r/us-east/v1``), switchyard and litellm, interleaved per level: time to the first content
   chunk (ms, p50/p99), mean gap between content chunks (ms), added = system - direct; the goal
   ratio is switchyard-added / litellm-added TTFT p50 (goal <= 1).
2. **Rescue**: ``/_sim/apply`` makes the primary (gpt-4o us-east) end every stream cleanly after
   20 tokens (``stream_fault: cut``). Sequential requests; ``/_sim/stats`` says which ones the
   primary cut (Switchyard's health layer moves traffic off a target that keeps failing, so not
   every request reaches it). Rescue gap = ms between the last content chunk of the cut target
   and the first of the next one (``stream_figures.rescue_gap``); goal: < 1000 ms + the next
   target's own TTFT (measured directly on ``/r/eu-west/v1`` in the same phase). LiteLLM: answers
   whole, truncated-but-successful (finish reason and ``[DONE]`` after a cut) or failed.
3. **Open streams**: every target slowed to 40 tokens over 10 s; 1,000 (``--quick``: 200)
   streams opened at once through each gateway; errors, streams holding content at once (peak),
   RSS of the gateway's process group before and at peak (KiB) -> memory per stream.

Figures go to ``bench/results/streaming.json``. A shared 2-core box is noisy: run it alone.

    python -m bench.streaming [--quick | --full]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.gateway import _start_gateway, _start_litellm, free_port, spawn_simulator, stop, wait_http
from bench.overhead import MESSAGES, start_dev_server
from bench.overhead import SCENARIO as OVERHEAD_SCENARIO
from bench.stream_figures import (
    Read,
    print_report,
    raise_fd_limit,
    read_stream,
    rescue_gap,
    rss_kb,
    run_streams,
    summary,
)

PRIMARY = "openai/gpt-4o@us-east"
SCENARIO = {**OVERHEAD_SCENARIO, "name": "bench-streaming", "summary": "100-token streams, TTFT 200 ms, 1.2 s",
            "baseline": {"ttft_ms": {"median": 200, "p99": 200}, "latency_ms": {"median": 1200, "p99": 1200},
                         "output_tokens": {"median": 100, "p99": 100}, "error_rate": 0.0}}
CUT = {"target": PRIMARY, "set": {"stream_fault": "cut", "stream_fault_after_tokens": 20}}
SLOW = {"target": "*", "set": {"latency_ms": {"median": 10000, "p99": 10000},
                               "output_tokens": {"median": 40, "p99": 40}}}
BODY = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 200, "stream": True}
MASTER = "sk-bench-master"
RESULTS = Path(__file__).parent / "results" / "streaming.json"
PLANS = {"quick": {"levels": {1: 10, 8: 32}, "rescue": 10, "open": 200},
         "full": {"levels": {1: 30, 8: 80, 64: 192}, "rescue": 30, "open": 1000}}


@dataclass
class Stack:
    """URLs (``/v1/chat/completions``), keys and process-group ids of the running systems."""

    sim: str
    urls: dict[str, str]
    keys: dict[str, str | None]
    pids: dict[str, int]


@asynccontextmanager
async def stack(tmpd: Path) -> AsyncIterator[Stack]:
    """Simulator, dev server, gateway and LiteLLM proxy as ``bench/gateway.py`` starts them."""
    (tmpd / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
    sim_port, gw_port, ll_port = free_port(), free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    procs = [spawn_simulator(tmpd / "scenario.yaml", sim_port, tmpd / "sim.log")]
    env = await start_dev_server(tmpd)
    try:
        async with env:
            await wait_http(f"{sim}/_sim/state", procs[0], 30, tmpd / "sim.log")
            key = await _start_gateway(tmpd, sim, gw_port, env.client.service_client.config.target_host, procs)
            gw_pid = procs[-1].pid
            _start_litellm(tmpd, sim, ll_port, procs)
            await wait_http(f"http://127.0.0.1:{ll_port}/health/liveliness", procs[-1], 300, tmpd / "litellm.log")
            yield Stack(sim, {"direct": f"{sim}/r/us-east/v1/chat/completions",
                              "switchyard": f"http://127.0.0.1:{gw_port}/v1/chat/completions",
                              "litellm": f"http://127.0.0.1:{ll_port}/v1/chat/completions"},
                        {"direct": None, "switchyard": key, "litellm": MASTER},
                        {"switchyard": gw_pid, "litellm": procs[-1].pid})
    finally:
        for p in reversed(procs):
            stop(p)


async def sim_post(http: httpx.AsyncClient, st: Stack, path: str, body: Any) -> dict[str, Any]:
    r = await http.post(f"{st.sim}/_sim/{path}", json=body)
    r.raise_for_status()
    return r.json()


async def phase_ttft(http: httpx.AsyncClient, st: Stack, levels: dict[int, int]) -> dict[str, Any]:
    """Phase 1 (module docstring): per level, per system, a warm-up then ``n`` streams."""
    out: dict[str, Any] = {}
    for c, n in levels.items():
        out[str(c)] = {}
        for name, url in st.urls.items():
            async def send(url: str = url, name: str = name) -> Read:
                return await read_stream(http, url, BODY, st.keys[name])
            await run_streams(send, max(3, c), c)
            reads, wall = await run_streams(send, n, c)
            out[str(c)][name] = {**summary(reads), "wall_s": round(wall, 1)}
        print(f"  phase 1, concurrency {c}: done", file=sys.stderr)
    return out


async def _cuts(http: httpx.AsyncClient, st: Stack) -> int:
    r = await http.get(f"{st.sim}/_sim/stats")
    return r.json()["targets"][PRIMARY]["stream_faults"]["cut"]


async def phase_rescue(http: httpx.AsyncClient, st: Stack, n: int) -> dict[str, Any]:
    """Phase 2 (module docstring)."""
    reference = (await read_stream(http, st.urls["direct"], BODY, None)).text
    next_url = st.urls["direct"].replace("/r/us-east/", "/r/eu-west/")
    own = [await read_stream(http, next_url, BODY, None) for _ in range(10)]
    await sim_post(http, st, "apply", CUT)
    cut_chars = len((await read_stream(http, st.urls["direct"], BODY, None)).text)
    out: dict[str, Any] = {"reference_chars": len(reference), "cut_after_chars": cut_chars,
                           "next_target_ttft": summary(own)}
    for name in ("switchyard", "litellm"):
        reads, gaps, cut = [], [], 0
        for _ in range(n):
            before = await _cuts(http, st)
            read = await read_stream(http, st.urls[name], BODY, st.keys[name])
            reads.append(read)
            if await _cuts(http, st) > before:
                cut += 1
                gap = rescue_gap(read, cut_chars)
                gaps.append(gap) if gap is not None else None
        out[name] = {**summary(reads, reference), "cut_by_primary": cut, "rescued": len(gaps),
                     "gaps_ms": [round(g, 1) for g in gaps]}
    await sim_post(http, st, "apply", {"target": PRIMARY, "reset": True})
    return out


async def phase_open(st: Stack, name: str, n: int) -> dict[str, Any]:
    """Phase 3 (module docstring) for one gateway: ``n`` slow streams opened at once."""
    pid = st.pids[name]
    rss_before = rss_kb(pid)
    reads = [Read() for _ in range(n)]
    peak = {"streaming": 0, "open": 0, "rss_kb": rss_before, "rss_at_peak_kb": rss_before, "at_s": 0.0}
    t0 = time.perf_counter()

    async def sample() -> None:
        while True:
            streaming = sum(bool(r.times) and not r.ended for r in reads)
            rss = rss_kb(pid)
            peak["open"] = max(peak["open"], sum(r.headers_ms is not None and not r.ended for r in reads))
            peak["rss_kb"] = max(peak["rss_kb"], rss)
            if streaming > peak["streaming"]:
                peak.update(streaming=streaming, rss_at_peak_kb=rss, at_s=round(time.perf_counter() - t0, 1))
            await asyncio.sleep(0.25)
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=30, pool=60), limits=limits) as http:
        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(read_stream(http, st.urls[name], BODY, st.keys[name], r) for r in reads))
        sampler.cancel()
    wall = time.perf_counter() - t0
    added = peak["rss_kb"] - rss_before
    return {**summary(reads), "streams": n, "wall_s": round(wall, 1), "peak_streaming": peak["streaming"],
            "peak_open": peak["open"], "peak_at_s": peak["at_s"], "rss_before_kb": rss_before,
            "rss_peak_kb": peak["rss_kb"], "rss_at_peak_streaming_kb": peak["rss_at_peak_kb"],
            "kb_per_stream": round(added / peak["streaming"], 1) if peak["streaming"] else None,
            "complete": sum(r.complete for r in reads)}


async def main(plan: str) -> dict[str, Any]:
    p = PLANS[plan]
    fds = raise_fd_limit(4 * p["open"] + 1024)  # client, gateway and simulator sockets; children inherit it
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        async with stack(Path(tmp)) as st:
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=256)) as http:
                res: dict[str, Any] = {"ttft": await phase_ttft(http, st, p["levels"])}
                res["rescue"] = await phase_rescue(http, st, p["rescue"])
                print("  phase 2: done", file=sys.stderr)
                await sim_post(http, st, "apply", SLOW)
            res["open"] = {}
            for name in ("switchyard", "litellm"):
                res["open"][name] = await phase_open(st, name, p["open"])
                print(f"  phase 3, {name}: done", file=sys.stderr)
    res["run"] = {"plan": plan, "date": time.strftime("%Y-%m-%d %H:%M"), "seconds": round(time.time() - started),
                  "cores": os.cpu_count(), "load_avg": [round(x, 1) for x in os.getloadavg()], "fd_limit": fds}
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", const="quick", dest="plan")
    mode.add_argument("--full", action="store_const", const="full", dest="plan")
    results = asyncio.run(main(ap.parse_args().plan or "full"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_report(results)
    print(f"\nfigures written to {RESULTS}")
