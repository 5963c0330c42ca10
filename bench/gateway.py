"""Overhead of the Switchyard gateway vs calling the simulator directly, next to the LiteLLM proxy.

Three HTTP endpoints answer the same OpenAI Chat Completions request, measured in one run against
one simulator (answers in about 1 ms, so what is measured is the HTTP hop and what each gateway
does around the call):

- **direct**: the simulator's OpenAI endpoint for the primary target (``/r/us-east/v1``);
- **switchyard**: ``switchyard gateway`` as its own process (auth on, a gateway key), with its
  in-process request worker, the embedded dev server (WAL SQLite file) and a SQLite database:
  every request is a durable ``AIRequestWorkflow`` (eager start, planning, one attempt, outcome
  row, search attributes);
- **litellm**: the LiteLLM proxy (``litellm --config``, PyPI ``litellm[proxy]``, the ``bench``
  extra) as its own process with a master key, one deployment per target of the same chain
  (``support_reply``: gpt-4o us-east, gpt-4o eu-west, claude-3-5-sonnet, gemini-2.0-flash,
  local llama) and its own ``fallbacks`` in that order, with the settings ``bench/chaos.py`` uses
  (its documented defaults: ``num_retries`` 2, ``allowed_fails`` 3, ``cooldown_time`` 5 s).
  Nothing is durable there: a proxy crash loses the request.

Per concurrency level (default 1, 8, 32, 128): ``--requests`` requests in three interleaved
rounds (direct, switchyard, litellm in turn, each round after its own warm-up), from an aiohttp
client with keep-alive in this process (:func:`load_client`; an httpx client here spent 3.6 ms of
CPU per request at 32 in flight and 9.9 ms at 128, on the cores the systems share, and capped even
direct calls near 100-300 req/s: ``bench/client_cost.py``) (closed loop: each of ``c`` senders sends its next request
when the previous one answered); p50/p99 latency (ms) and requests/s over the pooled rounds.
Added latency = gateway p50 (p99) - direct p50 (p99) at the same level; ratios are switchyard /
litellm. Max throughput = the highest requests/s of a system over the levels. The **floor** is Temporal's own:
a workflow with one no-op local activity started eagerly on a worker in this process
(``bench/floor.py``), sequential for latency and at concurrency 32 for throughput.

Goals (issue 16): added p50 <= LiteLLM's at every level; max throughput >= LiteLLM's; switchyard's
p99 <= 2x its p50 at concurrency 32. ``--scale 1,2,4`` then restarts the gateway with
``--processes N`` for each N and measures its throughput at the highest level (on a 2-core box
more than 2 processes cannot scale past 2x). A last phase (``--failover``) takes the primary down
(503s) and reports latency and errors of both while they fail over.

``--quick`` (fewer requests, no failover phase, scale 1,2) writes the figures and ratios to
``bench/results/gateway.json`` (``--json`` elsewhere), the regression record the README's figures
come from. Timing is never a pass/fail test: figures from a shared 2-core box are noisy, compare
the ratios of side-by-side runs and rerun before trusting a difference under ~20 %.

    python -m bench.gateway [--requests 300] [--levels 1,8,32,128] [--processes 1] [--scale 1,2,4]
                            [--no-failover] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import yaml
from temporalio.client import Client
from temporalio.worker import Worker

from activities.storage.api_keys import ApiKeyStore
from activities.storage.engine import make_engine
from bench import gateway_report as report
from bench.chaos_systems import LITELLM_SETTINGS
from bench.floor import UnsandboxedFloorWorkflow, echo
from bench.overhead import MESSAGES, SCENARIO, start_dev_server
from core.chains import expand_chain
from core.stats import percentile
from migrations.runner import upgrade
from worker.settings import REPO_ROOT
from worker.simulated import sim_config, sim_config_dict

PRIMARY = "openai/gpt-4o@us-east"
ROUTE = "support_reply"
BODY = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 200}
_SUFFIX = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}
_PREFIX = {"openai": "openai", "anthropic": "anthropic", "gemini": "gemini"}


@dataclass
class Figures:
    """One system at one concurrency: latencies in ms, throughput in requests/s."""

    p50: float
    p99: float
    rps: float
    errors: int
    extra: list[float] = field(default_factory=list)  # switchyard: its own x-switchyard-overhead-ms
    samples: list[float] = field(default_factory=list)  # every latency (ms)
    elapsed_s: float = 0.0


def pooled(rounds: list[Figures]) -> Figures:
    """Figures of several rounds together: percentiles over every sample, requests / total time."""
    lat = [x for f in rounds for x in f.samples]
    elapsed = sum(f.elapsed_s for f in rounds)
    return Figures(percentile(lat, 50) if lat else float("nan"), percentile(lat, 99) if lat else float("nan"),
                   len(lat) / elapsed if elapsed else 0.0, sum(f.errors for f in rounds),
                   [x for f in rounds for x in f.extra], lat, elapsed)


async def measure(send: Callable[[], Awaitable[float | None]], n: int, concurrency: int) -> Figures:
    """``n`` requests from ``concurrency`` workers after ``max(10, 2 x concurrency)`` warm-up requests."""
    await asyncio.gather(*(send() for _ in range(max(10, 2 * concurrency))), return_exceptions=True)
    lat: list[float] = []
    extra: list[float] = []
    errors = 0
    todo = iter(range(n))

    async def worker() -> None:
        nonlocal errors
        for _ in todo:
            t = time.perf_counter()
            try:
                got = await send()
            except (TimeoutError, aiohttp.ClientError, RuntimeError):
                errors += 1
                continue
            lat.append((time.perf_counter() - t) * 1000)
            if got is not None:
                extra.append(got)
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    return Figures(percentile(lat, 50) if lat else float("nan"), percentile(lat, 99) if lat else float("nan"),
                   len(lat) / elapsed, errors, extra, lat, elapsed)


def load_client(connections: int) -> aiohttp.ClientSession:
    """The load generator's client: aiohttp, keep-alive, at most ``connections`` open, 60 s per request."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections),
                                 timeout=aiohttp.ClientTimeout(total=60))


def sender(http: aiohttp.ClientSession, url: str, key: str | None) -> Callable[[], Awaitable[float | None]]:
    """POST the benchmark body; raises ``RuntimeError`` on a non-200; returns the gateway's
    self-reported overhead (ms) when it sends one."""
    headers = {"authorization": f"Bearer {key}"} if key else {}

    async def send() -> float | None:
        async with http.post(url, json=BODY, headers=headers) as r:
            body = await r.read()
            if r.status != 200:
                raise RuntimeError(f"{r.status}: {body[:200]!r}")
            own = r.headers.get("x-switchyard-overhead-ms")
        return float(own) if own else None
    return send


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_simulator(scenario: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The provider simulator on ``scenario`` (a scenario YAML file) in its own process on ``port``."""
    return spawn([sys.executable, "-m", "simulator", str(scenario), "--port", str(port)], log, {})


def spawn(cmd: list[str], log: Path, env: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """A child in its own session (so :func:`stop` ends it and its children), output to ``log``;
    ``env`` added to this process's environment, ``drop`` removed from it."""
    child_env = {k: v for k, v in os.environ.items() if k not in drop} | env
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO_ROOT,
                                env=child_env, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    """Poll ``url`` until it answers 200 (LiteLLM's import alone takes 15-60 s on this box)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[2:4]} exited; see {log}")
            try:
                if (await c.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} not up after {timeout_s:.0f} s; see {log}")


def litellm_config(sim_url: str, master_key: str) -> dict:
    """The proxy config: one deployment per target of the route's chain, fallbacks in chain order."""
    cfg = sim_config(sim_url)
    chain = [t for group in expand_chain(cfg, ROUTE) for t in group]
    models = [{"model_name": t.id, "litellm_params": {
        "model": f"{_PREFIX[cfg.providers[t.provider].protocol]}/{t.model}", "api_key": "sk-sim",
        "api_base": f"{sim_url}/r/{t.region}{_SUFFIX[cfg.providers[t.provider].protocol]}", "timeout": t.timeout_s}}
        for t in chain]
    models.append({"model_name": "gpt-4o", "litellm_params": models[0]["litellm_params"]})  # the name clients send
    return {"model_list": models,
            "router_settings": {"fallbacks": [{"gpt-4o": [t.id for t in chain[1:]]}], **LITELLM_SETTINGS},
            "litellm_settings": {"telemetry": False, "drop_params": True},
            "general_settings": {"master_key": master_key}}


async def main(args: argparse.Namespace) -> None:
    levels = [int(x) for x in args.levels.split(",")]
    scale = [int(x) for x in args.scale.split(",")] if args.scale else []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        (tmpd / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
        sim_port, gw_port, ll_port = free_port(), free_port(), free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        procs = [spawn_simulator(tmpd / "scenario.yaml", sim_port, tmpd / "sim.log")]
        env = await start_dev_server(tmpd)
        try:
            async with env:
                await wait_http(f"{sim_url}/_sim/state", procs[0], 30, tmpd / "sim.log")
                temporal = env.client.service_client.config.target_host
                gw = await _start_gateway(tmpd, sim_url, gw_port, temporal, procs, args.processes)
                _start_litellm(tmpd, sim_url, ll_port, procs)
                await wait_http(f"http://127.0.0.1:{ll_port}/health/liveliness", procs[-1], 300, tmpd / "litellm.log")
                results = await run_levels(sim_url, gw_port, ll_port, gw.key, levels, args.requests)
                floor = await measure_floor(env.client, args.requests)
                failover = await run_failover(sim_url, gw_port, ll_port, gw.key, args.requests // 3) \
                    if args.failover else None
                stop(procs.pop(procs.index(gw.proc)))
                scaled = await run_scale(tmpd, sim_url, temporal, procs, scale, max(levels), args.requests)
        finally:
            for p in reversed(procs):
                stop(p)
    record = report.build_record(results, floor, scaled, args.requests, args.processes)
    report.print_report(record, failover)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"\nwrote {args.json}")


@dataclass
class RunningGateway:
    proc: subprocess.Popen[bytes]
    key: str


async def measure_floor(client: Client, n: int) -> dict[str, Figures]:
    """Temporal's floor: one no-op local activity per workflow, eager start, worker in this process."""
    queue = f"bench-floor-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[UnsandboxedFloorWorkflow], activities=[echo]):
        async def send() -> None:
            await client.execute_workflow(UnsandboxedFloorWorkflow.run, "x", id=f"floor-{uuid.uuid4().hex}",
                                          task_queue=queue, request_eager_start=True)
        return {"c1": await measure(send, n, 1), "c32": await measure(send, n, 32)}


async def run_scale(tmpd: Path, sim_url: str, temporal: str, procs: list, counts: list[int], level: int,
                    n: int) -> dict[int, Figures]:
    """Switchyard's throughput at concurrency ``level`` with ``--processes N`` for each N."""
    out: dict[int, Figures] = {}
    for count in counts:
        port = free_port()
        gw = await _start_gateway(tmpd, sim_url, port, temporal, procs, count)
        async with load_client(level * 2) as http:
            out[count] = await measure(sender(http, f"http://127.0.0.1:{port}/v1/chat/completions", gw.key),
                                       max(n, 4 * level), level)
        stop(procs.pop(procs.index(gw.proc)))
        print(f"  {count} gateway process(es): done", file=sys.stderr)
    return out


async def _start_gateway(tmpd: Path, sim_url: str, port: int, temporal: str, procs: list,
                         processes: int = 1, max_in_flight: int = 16) -> RunningGateway:
    db = f"sqlite:///{tmpd / 'switchyard.db'}"
    await asyncio.to_thread(upgrade, db)
    engine = make_engine(db)
    key = (await ApiKeyStore(engine).create("bench")).key
    await engine.dispose()
    cfg = tmpd / "switchyard.yaml"
    # max_in_flight_workflows 16: the cap the recorded figures were measured with (default: none)
    gateway = {"auth": "required", "port": port, "max_in_flight_workflows": max_in_flight}
    cfg.write_text(yaml.safe_dump(sim_config_dict(sim_url, gateway=gateway)))
    log = tmpd / "gateway.log"
    procs.append(spawn([sys.executable, "-m", "worker.cli", "gateway", "--config", str(cfg),
                        "--processes", str(processes)], log,
                       {"TEMPORAL_ADDRESS": temporal, "SWITCHYARD_HOME": str(tmpd), "DATABASE_URL": db,
                        "SWITCHYARD_TASK_QUEUE": f"bench-gateway-{port}"}))
    await wait_http(f"http://127.0.0.1:{port}/readyz", procs[-1], 120, log)
    return RunningGateway(procs[-1], key)


def _start_litellm(tmpd: Path, sim_url: str, port: int, procs: list) -> None:
    (tmpd / "litellm.yaml").write_text(yaml.safe_dump(litellm_config(sim_url, "sk-bench-master")))
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}  # offline cost map, quiet
    exe = Path(sys.executable).parent / "litellm"
    procs.append(spawn([str(exe), "--config", str(tmpd / "litellm.yaml"), "--host", "127.0.0.1", "--port", str(port),
                        "--num_workers", "1"], tmpd / "litellm.log", env, drop=("DATABASE_URL",)))


async def run_levels(sim_url: str, gw_port: int, ll_port: int, key: str, levels: list[int],
                     n: int, rounds: int = 3) -> dict[int, dict[str, Figures]]:
    """Every system at every concurrency level, in ``rounds`` interleaved rounds of ``n / rounds``
    requests per level (direct, switchyard, litellm in turn), so load drift hits all three alike."""
    out: dict[int, dict[str, Figures]] = {}
    async with load_client(max(levels) * 2) as http:
        systems = {"direct": sender(http, f"{sim_url}/r/us-east/v1/chat/completions", None),
                   "switchyard": sender(http, f"http://127.0.0.1:{gw_port}/v1/chat/completions", key),
                   "litellm": sender(http, f"http://127.0.0.1:{ll_port}/v1/chat/completions", "sk-bench-master")}
        for c in levels:
            got: dict[str, list[Figures]] = {name: [] for name in systems}
            for _ in range(rounds):
                for name, send in systems.items():
                    got[name].append(await measure(send, max(c, n // rounds), c))
            out[c] = {name: pooled(figs) for name, figs in got.items()}
            print(f"  concurrency {c}: done", file=sys.stderr)
    return out


async def run_failover(sim_url: str, gw_port: int, ll_port: int, key: str, n: int) -> dict[str, Figures]:
    """The primary answers 503 to everything; both gateways must fail over."""
    async with httpx.AsyncClient(timeout=60) as c:
        r = await c.post(f"{sim_url}/_sim/apply", json={"target": PRIMARY, "set": {
            "error_rate": 1.0, "errors": [{"status": 503, "share": 1.0}]}})
        r.raise_for_status()
    async with load_client(8) as http:
        return {"switchyard": await measure(sender(http, f"http://127.0.0.1:{gw_port}/v1/chat/completions", key), n, 4),
                "litellm": await measure(sender(http, f"http://127.0.0.1:{ll_port}/v1/chat/completions",
                                                "sk-bench-master"), n, 4)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--levels", default="1,8,32,128")
    ap.add_argument("--processes", type=int, default=1, help="switchyard gateway --processes for the main table")
    ap.add_argument("--scale", default=None, help="process counts for the scale phase (default 1,2,4; --quick "
                                                  "1,2; '' to skip)")
    ap.add_argument("--failover", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--quick", action="store_true", help="150 requests, no failover, scale 1,2; writes the JSON")
    ap.add_argument("--json", type=Path, default=None, help=f"write the record here (--quick: {report.RESULTS})")
    a = ap.parse_args()
    if a.quick:
        a.requests, a.failover = min(a.requests, 150), False
        a.json = a.json or report.RESULTS
    a.scale = ("1,2" if a.quick else "1,2,4") if a.scale is None else a.scale
    asyncio.run(main(a))
