"""Overload benchmark: 3x the chain's capacity, mixed priorities, repeated questions.

    python -m bench.overload [--seconds 40] [--overload 3] [--repeat 0.3] [--systems on,off,litellm]

One simulator whose chain (``support_reply``: gpt-4o in us-east and eu-west) has a capacity of
``2 x RPM`` requests per minute (each target answers 429 above ``--rpm``, default 300 = 5 req/s),
and open-loop load at ``--overload`` times that capacity for ``--seconds``: 20% ``high``, 40%
``normal`` and 40% ``low`` priority (``x-switchyard-priority``), ``--repeat`` of them one of 40
popular questions (temperature 0), the rest unique. Three systems, one after the other on the same
machine and simulator:

- **on**: ``switchyard gateway`` with the route's exact cache and load shedding
  (``overload.max_in_flight`` = the chain's capacity x its median latency x 3, shares high 0.9,
  normal 0.55, low 0.3);
- **off**: the same gateway with neither (every request goes to a provider and waits);
- **litellm**: the LiteLLM proxy with its in-memory response cache and each deployment's ``rpm``
  set to the same capacity (it has no request priorities in this set-up: its scheduler needs a
  Redis-backed queue), fallbacks in chain order.

Printed: success rate and p99 latency per priority, requests refused by the gateway (429 before any
provider call), the cache hit rate (answers that cost no provider call) and the slowest refusal (no
request may wait past its deadline, 10 s, to be told no), plus the p50 of cache hits against the
p50 of a gateway round trip that reaches the simulator with nothing to do (the hit path's cost).
Figures go to ``bench/results/overload.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import yaml

from activities.storage.api_keys import ApiKeyStore
from activities.storage.engine import make_engine
from bench.gateway import free_port, spawn, spawn_simulator, stop, wait_http
from bench.overhead import start_dev_server
from core.stats import percentile
from migrations.runner import upgrade
from worker.simulated import sim_config_dict

RESULTS = Path(__file__).resolve().parent / "results" / "overload.json"
TARGETS = ["openai/gpt-4o@us-east", "openai/gpt-4o@eu-west"]
PRIORITIES = [("high", 0.2), ("normal", 0.4), ("low", 0.4)]
DEADLINE_S = 10.0
#: Admission shares per priority: the lower priorities leave high-priority requests room for their
#: own bursts (the defaults, high 0.9 / normal 0.75 / low 0.5, let normal and low hold 75%).
SHARES = {"high": 0.9, "normal": 0.55, "low": 0.3}
HEADROOM = 3.0
LATENCY_MS = 400.0


def scenario(rpm: int) -> dict:
    return {"name": "bench-overload", "source": "synthetic", "summary": "two rate-limited targets", "time_scale": 1,
            "seed": 11, "baseline": {"latency_ms": {"median": LATENCY_MS, "p99": LATENCY_MS * 2},
                                     "ttft_ms": {"median": 100, "p99": 200},
                                     "output_tokens": {"median": 80, "p99": 120}, "error_rate": 0.0},
            "targets": {t: {"rate_limit_rpm": rpm} for t in TARGETS}, "timeline": []}


def question(i: int, rng: random.Random, repeat: float) -> tuple[str, bool]:
    if rng.random() < repeat:
        return f"What are your pharmacy's opening hours on public holiday number {rng.randrange(40)}?", True
    return f"Where is my refill order NW-{100000 + i}? The app says processing.", False


@dataclass
class Result:
    """One system's figures (latencies in ms)."""

    requests: int = 0
    by_priority: dict[str, dict] = field(default_factory=dict)
    refused: int = 0
    slowest_refusal_ms: float = 0.0
    past_deadline: int = 0
    provider_calls: int = 0
    cache_hit_rate: float = 0.0
    hit_p50_ms: float | None = None
    quiet_hit_p50_ms: float | None = None
    http_floor_p50_ms: float | None = None
    errors: dict[str, int] = field(default_factory=dict)


async def run_load(url: str, key: str, rate: float, seconds: float, repeat: float,
                   headers_for_priority: bool) -> list[dict]:
    rng, out, tasks = random.Random(5), [], []
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    async with httpx.AsyncClient(timeout=DEADLINE_S + 5, limits=limits) as http:
        async def one(i: int, prio: str, text: str, popular: bool) -> None:
            body = {"model": "gpt-4o", "max_tokens": 120, "temperature": 0, "messages": [
                {"role": "system", "content": "You are a support agent for an online pharmacy."},
                {"role": "user", "content": text}]}
            hdrs = {"authorization": f"Bearer {key}"}
            if headers_for_priority:
                hdrs["x-switchyard-priority"] = prio
            t = time.perf_counter()
            try:
                r = await http.post(url, json=body, headers=hdrs)
                status, cache = r.status_code, r.headers.get("x-switchyard-cache", "")
                shed = r.status_code == 429 and (r.headers.get("x-switchyard-shed") or "rate" in r.text[:400])
            except httpx.HTTPError as e:
                status, cache, shed = type(e).__name__, "", False
            out.append({"priority": prio, "status": status, "ms": (time.perf_counter() - t) * 1000, "cache": cache,
                        "popular": popular, "shed": bool(shed)})

        t0 = time.perf_counter()
        i = 0
        while (now := time.perf_counter() - t0) < seconds:
            due = i / rate
            if due > now:
                await asyncio.sleep(due - now)
            prio = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
            text, popular = question(i, rng, repeat)
            tasks.append(asyncio.create_task(one(i, prio, text, popular)))
            i += 1
        await asyncio.gather(*tasks)
    return out


def figures(samples: list[dict], provider_calls: int) -> Result:
    res = Result(requests=len(samples), provider_calls=provider_calls)
    per: dict[str, list[dict]] = defaultdict(list)
    for s in samples:
        per[s["priority"]].append(s)
    for prio, ss in per.items():
        ok = [s for s in ss if s["status"] == 200]
        res.by_priority[prio] = {"requests": len(ss), "success": len(ok) / len(ss),
                                 "p99_ms": percentile([s["ms"] for s in ok], 99) if ok else None}
    refused = [s for s in samples if s["status"] == 429]
    res.refused = len(refused)
    res.slowest_refusal_ms = max((s["ms"] for s in refused), default=0.0)
    res.past_deadline = sum(1 for s in samples if s["ms"] > DEADLINE_S * 1000)
    answered = sum(1 for s in samples if s["status"] == 200)
    res.cache_hit_rate = max(0.0, answered - provider_calls) / answered if answered else 0.0
    hits = [s["ms"] for s in samples if s["cache"] in ("hit", "stale")]
    res.hit_p50_ms = percentile(hits, 50) if hits else None
    for s in samples:
        if s["status"] != 200:
            res.errors[str(s["status"])] = res.errors.get(str(s["status"]), 0) + 1
    return res


def switchyard_config(sim_url: str, port: int, on: bool, max_in_flight: int) -> dict:
    data = sim_config_dict(sim_url, gateway={"auth": "required", "port": port})
    route = {"chain": ["openai/gpt-4o"], "retries": 0, "max_retry_wait_s": 1, "deadline_s": DEADLINE_S}
    if on:
        route["cache"] = {"mode": "exact", "ttl_s": 600}
        route["overload"] = {"max_in_flight": max_in_flight, "retry_after_s": 1, "shares": SHARES}
    data["routes"] = {"support_reply": route}
    data["default_route"] = "support_reply"
    return data


def litellm_config(sim_url: str, rpm: int) -> dict:
    models = [{"model_name": "gpt-4o", "litellm_params": {
        "model": "openai/gpt-4o", "api_key": "sk-sim", "api_base": f"{sim_url}/r/{t.split('@')[1]}/v1",
        "timeout": DEADLINE_S, "rpm": rpm}} for t in TARGETS]
    return {"model_list": models,
            "router_settings": {"routing_strategy": "usage-based-routing-v2", "enable_pre_call_checks": True,
                                "num_retries": 0, "timeout": DEADLINE_S},
            "litellm_settings": {"telemetry": False, "drop_params": True, "cache": True,
                                 "cache_params": {"type": "local", "ttl": 600}},
            "general_settings": {"master_key": "sk-bench-master"}}


async def sim_calls(sim_url: str) -> int:
    """Calls the simulator answered with 200 (429s of its rate limit are not capacity used)."""
    async with httpx.AsyncClient() as c:
        stats = (await c.get(f"{sim_url}/_sim/stats")).json()
    return sum(v.get("by_status", {}).get("200", 0) for v in stats.get("targets", {}).values())


async def hit_cost(url: str, key: str, n: int = 60) -> tuple[float, float]:
    """``(p50 of a cache hit, p50 of GET /healthz)`` in ms, sequential on a quiet gateway: the hit
    path's own cost is their difference (both pay the same HTTP hop and auth-free parsing)."""
    body = {"model": "gpt-4o", "max_tokens": 120, "temperature": 0,
            "messages": [{"role": "user", "content": "Do you deliver on Sundays?"}]}
    hdrs = {"authorization": f"Bearer {key}"}
    health = url.replace("/v1/chat/completions", "/healthz")
    async with httpx.AsyncClient(timeout=30) as http:
        await http.post(url, json=body, headers=hdrs)  # stores the entry
        await asyncio.sleep(0.5)
        hits, floor = [], []
        for _ in range(n):
            t = time.perf_counter()
            r = await http.post(url, json=body, headers=hdrs)
            if r.headers.get("x-switchyard-cache") == "hit":
                hits.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await http.get(health)
            floor.append((time.perf_counter() - t) * 1000)
    return (percentile(hits, 50) if hits else float("nan")), percentile(floor, 50)


async def start_switchyard(tmpd: Path, sim_url: str, temporal: str, on: bool, max_in_flight: int,
                           procs: list) -> tuple[str, str]:
    name = "on" if on else "off"
    db = f"sqlite:///{tmpd / f'switchyard-{name}.db'}"
    await asyncio.to_thread(upgrade, db)
    engine = make_engine(db)
    key = (await ApiKeyStore(engine).create("bench")).key
    await engine.dispose()
    port = free_port()
    cfg = tmpd / f"switchyard-{name}.yaml"
    cfg.write_text(yaml.safe_dump(switchyard_config(sim_url, port, on, max_in_flight)))
    log = tmpd / f"gateway-{name}.log"
    procs.append(spawn([sys.executable, "-m", "worker.cli", "gateway", "--config", str(cfg)], log,
                       {"TEMPORAL_ADDRESS": temporal, "SWITCHYARD_HOME": str(tmpd / name), "DATABASE_URL": db,
                        "SWITCHYARD_TASK_QUEUE": f"bench-overload-{name}"}))
    await wait_http(f"http://127.0.0.1:{port}/readyz", procs[-1], 60, log)
    return f"http://127.0.0.1:{port}/v1/chat/completions", key


async def start_litellm(tmpd: Path, sim_url: str, rpm: int, procs: list) -> tuple[str, str]:
    port = free_port()
    (tmpd / "litellm.yaml").write_text(yaml.safe_dump(litellm_config(sim_url, rpm)))
    exe = Path(sys.executable).parent / "litellm"
    procs.append(spawn([str(exe), "--config", str(tmpd / "litellm.yaml"), "--host", "127.0.0.1", "--port", str(port),
                        "--num_workers", "1"], tmpd / "litellm.log",
                       {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}, drop=("DATABASE_URL",)))
    await wait_http(f"http://127.0.0.1:{port}/health/liveliness", procs[-1], 300, tmpd / "litellm.log")
    return f"http://127.0.0.1:{port}/v1/chat/completions", "sk-bench-master"


async def main(args: argparse.Namespace) -> None:
    capacity_rps = 2 * args.rpm / 60.0
    rate = capacity_rps * args.overload
    max_in_flight = max(2, round(capacity_rps * LATENCY_MS / 1000 * HEADROOM))
    print(f"bench/overload: chain capacity {capacity_rps:g} req/s, offered {rate:g} req/s ({args.overload:g}x) for "
          f"{args.seconds:g} s, repeat share {args.repeat:.0%}, max_in_flight {max_in_flight}", file=sys.stderr)
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        procs: list = []
        env = await start_dev_server(tmpd)
        try:
            async with env:
                temporal = env.client.service_client.config.target_host
                for name in args.systems:
                    (tmpd / f"sim-{name}.yaml").write_text(yaml.safe_dump(scenario(args.rpm)))
                    sim_port = free_port()
                    sim_url = f"http://127.0.0.1:{sim_port}"
                    sim = spawn_simulator(tmpd / f"sim-{name}.yaml", sim_port, tmpd / f"sim-{name}.log")
                    procs.append(sim)
                    await wait_http(f"{sim_url}/_sim/state", sim, 30, tmpd / f"sim-{name}.log")
                    if name == "litellm":
                        url, key = await start_litellm(tmpd, sim_url, args.rpm, procs)
                    else:
                        url, key = await start_switchyard(tmpd, sim_url, temporal, name == "on", max_in_flight, procs)
                    before = await sim_calls(sim_url)
                    samples = await run_load(url, key, rate, args.seconds, args.repeat, name != "litellm")
                    results[name] = figures(samples, await sim_calls(sim_url) - before)
                    if name == "on":
                        await asyncio.sleep(3)
                        results[name].quiet_hit_p50_ms, results[name].http_floor_p50_ms = await hit_cost(url, key)
                    print(f"  {name}: done", file=sys.stderr)
                    for p in reversed(procs):
                        stop(p)
                    procs = []
        finally:
            for p in reversed(procs):
                stop(p)
    print_report(results, args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"args": vars(args), "results": {k: asdict(v) for k, v in results.items()}},
                                  indent=2))


def print_report(results: dict[str, Result], args: argparse.Namespace) -> None:
    names = list(results)
    print(f"\n{'':34}" + "".join(f"{n:>14}" for n in names))

    def row(label: str, cell) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:34}" + "".join(f"{cell(results[n]):>14}" for n in names))
    for prio, _ in PRIORITIES:
        row(f"{prio}: success", lambda r, p=prio: f"{r.by_priority.get(p, {}).get('success', 0):.1%}")
        row(f"{prio}: p99 of answers (ms)", lambda r, p=prio: "-" if r.by_priority.get(p, {}).get("p99_ms") is None
            else f"{r.by_priority[p]['p99_ms']:.0f}")
    row("requests", lambda r: str(r.requests))
    row("refused by the gateway (429)", lambda r: str(r.refused))
    row("slowest refusal (ms)", lambda r: f"{r.slowest_refusal_ms:.0f}")
    row(f"waited past the {DEADLINE_S:g} s deadline", lambda r: str(r.past_deadline))
    row("provider calls", lambda r: str(r.provider_calls))
    row("answers without a provider call", lambda r: f"{r.cache_hit_rate:.1%}")
    row("cache hit p50 under load (ms)", lambda r: "-" if r.hit_p50_ms is None else f"{r.hit_p50_ms:.1f}")
    for n in names:
        if results[n].errors:
            print(f"  {n} non-200: {results[n].errors}")
    print_ratios(results)
    on = results.get("on")
    if on is not None and on.quiet_hit_p50_ms is not None:
        added = on.quiet_hit_p50_ms - (on.http_floor_p50_ms or 0.0)
        print(f"cache hit path, quiet: p50 {on.quiet_hit_p50_ms:.1f} ms vs {on.http_floor_p50_ms:.1f} ms for "
              f"GET /healthz = {added:.1f} ms added ({'met' if added < 5 else 'NOT met'}: goal < 5 ms)")
    high = results.get("on", Result()).by_priority.get("high", {}).get("success")
    if high is not None:
        print(f"goal high-priority success >= 99% at {args.overload:g}x: {high:.1%} "
              f"({'met' if high >= 0.99 else 'NOT met'})")


def print_ratios(results: dict[str, Result]) -> None:
    """Switchyard with caching and shedding against each other system: success and p99 per priority."""
    on = results.get("on")
    if on is None:
        return
    for other in (n for n in results if n != "on"):
        r = results[other]
        parts = []
        for prio, _ in PRIORITIES:
            a, b = on.by_priority.get(prio, {}), r.by_priority.get(prio, {})
            succ = f"{a.get('success', 0) / b['success']:.2f}x" if b.get("success") else "-"
            p99 = f"{a['p99_ms'] / b['p99_ms']:.2f}x" if a.get("p99_ms") and b.get("p99_ms") else "-"
            parts.append(f"{prio} success {succ}, p99 {p99}")
        print(f"ratio on / {other}: " + "; ".join(parts))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=40.0, help="seconds of load per system (default 40)")
    ap.add_argument("--overload", type=float, default=3.0, help="offered load / chain capacity (default 3)")
    ap.add_argument("--rpm", type=int, default=300, help="each target's rate limit, requests/min (default 300)")
    ap.add_argument("--repeat", type=float, default=0.3, help="share of requests repeating a popular question")
    ap.add_argument("--systems", type=lambda s: s.split(","), default=["on", "off", "litellm"])
    return ap.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
