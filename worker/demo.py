"""``switchyard demo``: the main job on the embedded default.

1. Start (or reuse) the embedded stack - dev server, database, worker - with
   ``examples/simulated.yaml`` narrowed to the targets the scenario simulates.
   With a config of real providers (``--config examples/switchyard.yaml`` and keys in the
   environment) steps 2 and 4's fault replay are skipped: each business request is sent once.
2. Serve the provider simulator replaying the scenario (default: the OpenAI chat outage of
   2023-11-08) on the port the config points at (8300), its clock ``speed`` times the
   scenario's own ``time_scale``.
3. Send the business requests of ``examples/requests.jsonl`` (support replies, contract clause
   summaries, JSON extraction), cycled, at ``rate`` per second through the Temporal client until
   the scenario's timeline is over.
4. Print a summary: requests, user-visible failures, failovers by reason, answers per target,
   latency p50/p95/p99 (as the caller saw it), cost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from core.chat import ChatRequest
from core.config import SwitchyardConfig
from core.request import RequestInput, RequestResult
from core.stats import percentile
from simulator.scenario import load_scenario, resolve_scenario
from simulator.server import run_simulator
from worker import stack
from worker.client import connect
from worker.config_loader import load_config
from worker.devserver import port_open
from worker.render import print_status
from worker.settings import REPO_ROOT, Settings
from worker.simulated import SHIPPED_BASE, SIMULATED
from worker.submit import RequestFailed, SwitchyardClient

REQUESTS = REPO_ROOT / "examples" / "requests.jsonl"
SIM_PORT = 8300


@dataclass
class Tally:
    """What the demo saw, request by request (latencies in ms, cost in USD)."""

    sent: int = 0
    answered: int = 0
    failed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    by_target: Counter[str] = field(default_factory=Counter)
    failover_reasons: Counter[str] = field(default_factory=Counter)
    failed_over: int = 0
    cost: float = 0.0
    cache_hits: int = 0      # answers served from the response cache (fresh or stale)
    saved: float = 0.0       # what those answers cost when first produced (USD), not billed again

    def add(self, result: RequestResult, latency_ms: float) -> None:
        self.answered += 1
        self.latencies.append(latency_ms)
        self.by_target[result.trace.target_used or "?"] += 1
        self.failover_reasons.update(result.trace.failover_reasons)
        self.failed_over += result.trace.failovers > 0
        self.cost += result.trace.cost_usd
        if result.trace.cache in ("hit", "stale"):
            self.cache_hits += 1
            self.saved += result.trace.saved_usd


def load_requests(path: Path = REQUESTS) -> list[RequestInput]:
    """The demo's business requests: one JSON object per line with ``task_type``, ``messages`` and
    optional Chat Completions parameters."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            task_type = item.pop("task_type")
            out.append(RequestInput(request=ChatRequest.model_validate(item), task_type=task_type, tenant="demo"))
    return out


def narrowed_config(cfg: SwitchyardConfig, simulated: set[str]) -> dict:
    """``cfg`` as a dict without the targets the scenario does not simulate (matched as
    ``protocol/model@region``) and without chain entries left with no target."""
    data = cfg.model_dump(mode="json")
    proto = {name: p["protocol"] for name, p in data["providers"].items()}
    data["targets"] = [t for t in data["targets"]
                       if f"{proto[t['provider']]}/{t['model']}@{t['region']}" in simulated]
    kept = {f"{t['provider']}/{t['model']}" for t in data["targets"]} | {
        f"{t['provider']}/{t['model']}@{t['region']}" for t in data["targets"]}
    for route in data["routes"].values():
        route["chain"] = [e for e in route["chain"] if e.startswith("route:") or e in kept]
    return data


async def _send(sy: SwitchyardClient, inp: RequestInput, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        result = await sy.submit(inp, eager=False)
    except RequestFailed as e:
        tally.failed.append(f"{e.failure.error_class}: {e.failure.message[:160]}")
        return
    tally.add(result, (time.perf_counter() - started) * 1000.0)


class DemoPortBusy(RuntimeError):
    """The simulator's port is taken; raised before the demo touches the running stack."""


def _check_port_free(port: int) -> None:
    if port_open(port):
        raise DemoPortBusy(
            f"port {port} on 127.0.0.1 is in use; the demo serves its simulator there. Stop whatever holds it "
            f"(`ss -ltnp 'sport = :{port}'` shows it; often a `switchyard simulate` left running) and run the "
            "demo again. The running stack was not changed.")


class DemoKeysMissing(RuntimeError):
    """No provider of a real-provider config has its API key in the environment."""


def _check_keys(cfg: SwitchyardConfig, console: Console, env: Mapping[str, str] | None = None) -> None:
    """Name (never show) the key variables that are not set: their providers' targets will fail
    over with an authentication error. Raises :class:`DemoKeysMissing` when every provider that
    needs a key lacks it (a keyless self-hosted server alone is not a demo worth paying for)."""
    needed = {p.api_key_env for p in cfg.providers.values() if p.api_key_env}
    missing = sorted(needed - set(stack.keys_set(cfg, env)))
    if needed and len(missing) == len(needed):
        raise DemoKeysMissing(f"no provider key is set ({', '.join(missing)}): export at least one, or run "
                              "the demo on the simulator (without --config)")
    if missing:
        console.print(f"[yellow]not set:[/] {', '.join(missing)}: those providers' targets fail over "
                      "(AuthError) and stay cooled down")


def is_simulated(cfg: SwitchyardConfig) -> bool:
    """True when every provider points at the shipped simulator address."""
    return all(p.base_url.startswith(SHIPPED_BASE) for p in cfg.providers.values())


async def run_demo(settings: Settings, console: Console, *, scenario: str, rate: float, speed: float,
                   config_path: Path | None) -> int:
    """Run the demo (see module docstring); returns the exit code. Raises ``ConfigError``,
    ``ScenarioError``, :class:`DemoPortBusy` and :class:`DemoKeysMissing` before anything of the stack is changed.

    With a config whose providers are real (not the simulator), no simulator is started and each
    business request is sent once (real calls cost money)."""
    base_cfg = load_config(config_path or SIMULATED)
    requests = load_requests()
    tally = Tally()
    if not is_simulated(base_cfg):
        _check_keys(base_cfg, console)
        print_status(console, await stack.up(settings, (config_path or SIMULATED).resolve()))
        sy = SwitchyardClient(await connect(settings), settings.task_queue)
        console.print(f"\nReal providers: sending the {len(requests)} business requests once, {rate:g} per second\n")
        await _stream(sy, requests, tally, rate, duration=len(requests) / rate, limit=len(requests))
        _summary(console, tally, settings)
        return 0
    scen_path = resolve_scenario(scenario)
    scen = load_scenario(scen_path)
    _check_port_free(SIM_PORT)
    demo_cfg = settings.home / "demo" / f"{scen.name}.yaml"
    demo_cfg.parent.mkdir(parents=True, exist_ok=True)
    demo_cfg.write_text(yaml.safe_dump(narrowed_config(base_cfg, set(scen.targets)), sort_keys=False))
    console.print(f"[bold]Scenario[/] {scen.name}: {scen.summary.strip()}\n")
    print_status(console, await stack.up(settings, demo_cfg))
    time_scale = scen.time_scale * speed
    duration = (max((s.at_s for s in scen.timeline), default=60.0) * 1.05) / time_scale
    sy = SwitchyardClient(await connect(settings), settings.task_queue)
    async with run_simulator(str(scen_path), port=SIM_PORT, time_scale=time_scale):
        console.print(f"\nSimulator on :{SIM_PORT}, incident clock x{time_scale:g}; "
                      f"sending {rate:g} requests/s for {duration:.0f} s\n")
        await _stream(sy, requests, tally, rate, duration)
    _summary(console, tally, settings)
    return 0


async def _stream(sy: SwitchyardClient, requests: list[RequestInput], tally: Tally, rate: float,
                  duration: float, limit: int | None = None) -> None:
    tasks: set[asyncio.Task[None]] = set()
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                  TextColumn("{task.fields[counts]}")) as progress:
        bar = progress.add_task("incident replay", total=duration, counts="")
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < duration and (limit is None or tally.sent < limit):
            inp = requests[tally.sent % len(requests)]
            tally.sent += 1
            task = asyncio.create_task(_send(sy, inp, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            counts = (f"sent {tally.sent}  answered {tally.answered}  failed {len(tally.failed)}  "
                      f"failed over {tally.failed_over}")
            progress.update(bar, completed=elapsed, counts=counts)
            await asyncio.sleep(max(0.0, start + tally.sent / rate - time.monotonic()))
        progress.update(bar, completed=duration, counts=f"waiting for {len(tasks)} in flight")
        await asyncio.gather(*tasks)


def _summary(console: Console, t: Tally, settings: Settings) -> None:
    table = Table(title="Demo summary", show_header=False)
    table.add_row("requests", str(t.sent))
    table.add_row("answered", str(t.answered))
    table.add_row("user-visible failures", f"[{'red' if t.failed else 'green'}]{len(t.failed)}[/]")
    table.add_row("requests that failed over", str(t.failed_over))
    table.add_row("failovers by reason", ", ".join(f"{k} {v}" for k, v in t.failover_reasons.most_common()) or "-")
    table.add_row("answered by", ", ".join(f"{k} {v}" for k, v in t.by_target.most_common()))
    table.add_row("latency p50 / p95 / p99 ms", " / ".join(f"{percentile(t.latencies, q):.0f}" for q in (50, 95, 99)))
    table.add_row("cost USD", f"{t.cost:.4f} ({1000 * t.cost / max(t.answered, 1):.4f} per 1k requests)")
    table.add_row("cache hits / saved USD", f"{t.cache_hits} ({100 * t.cache_hits / max(t.answered, 1):.0f}%) / "
                                            f"{t.saved:.4f}")
    console.print(table)
    for failure in t.failed[:10]:
        console.print(f"  [red]failed[/] {failure}")
    console.print(f"\nAudit every decision in the Temporal UI at http://127.0.0.1:{settings.dev_port + 1000} "
                  "(try the query: FailoverCount > 0)")
