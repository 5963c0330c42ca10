"""Chaos benchmark: replay fault scenarios under interactive load, Switchyard next to LiteLLM.

    python -m bench.chaos basic-primary-slow basic-primary-down [--rate 10] [--speed 1]
                          [--systems switchyard,litellm] [--requests N] [--tail 60]

For each scenario and system: a fresh simulator replaying the scenario (``--speed`` multiplies its
``time_scale``; 1 = full length), open-loop load at ``--rate`` requests/s from the moment the
incident clock starts until ``--tail`` seconds after the last scripted step (fault-free scenarios:
``--requests`` requests), then the figures of ``bench/chaos_metrics.py`` side by side, a plot
``bench/out/<scenario>.png`` and the raw figures in ``bench/out/chaos-results.json``.

Switchyard runs on the embedded default (Temporal dev server with a WAL SQLite file, SQLite
database, one in-process worker, eager start), a fresh database per scenario. The systems run one
after the other on the same machine, so machine noise differs between them; the simulator's seed
makes each see the same fault draws per target.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import tempfile
from collections import Counter
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.chaos_metrics import SAMPLE_S, Figures, Snapshot, fault_windows, figures
from bench.chaos_plot import plot
from bench.chaos_systems import LITELLM_SETTINGS, System, litellm, switchyard
from bench.load import Load, Sample, run_load
from core import search_attributes
from migrations.runner import upgrade
from simulator.scenario import Scenario, load_scenario
from simulator.server import RunningSimulator, run_simulator
from worker.devserver import temporal_binary

OUT = Path(__file__).resolve().parent / "out"


async def _sample(sim: RunningSimulator, load: Load, snaps: list[Snapshot], stop: asyncio.Event) -> None:
    targets = sim.world.targets
    while not stop.is_set():
        stats = sim.world.stats.snapshot(targets)["targets"]
        snaps.append(Snapshot(at=load.elapsed(), calls={t: stats[t]["calls"] for t in targets}))
        await asyncio.sleep(SAMPLE_S)


def horizon(sc: Scenario, scale: float, tail_s: float) -> float:
    """Seconds of load: until ``tail_s`` after the last scripted step."""
    last = max((s.at_s for s in sc.timeline), default=0.0)
    return last / scale + tail_s


async def run_system(system_cm: AbstractAsyncContextManager[System], sim: RunningSimulator, rate: float,
                     seconds: float, max_requests: int | None) -> tuple[list[Sample], list[Snapshot], System]:
    async with system_cm as system:
        sim.world.reset()  # the incident starts with the load (and every random stream restarts)
        load_before = os.getloadavg()[0]
        load, snaps, stop = Load(), [], asyncio.Event()
        sampler = asyncio.create_task(_sample(sim, load, snaps, stop))
        loop = asyncio.get_running_loop()
        if max_requests is None:
            loop.call_later(seconds, stop.set)
        await run_load(system.send, rate, stop, load, max_requests=max_requests)
        stop.set()
        await sampler
        system.events_note = f"machine load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} (2 cores)"
        return load.samples, snaps, system


async def run_scenario(client: Client, name: str, args: argparse.Namespace) -> dict[str, Figures]:
    sc = load_scenario(name)
    scale = sc.time_scale * args.speed
    fault_free = not sc.timeline
    seconds = horizon(sc, scale, args.tail)
    max_requests = args.requests if fault_free else None
    runs: dict[str, tuple[list[Sample], list[Snapshot]]] = {}
    results: dict[str, Figures] = {}
    for sys_name in args.systems:
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{Path(tmp) / 'switchyard.db'}"
            await asyncio.to_thread(upgrade, db)
            async with run_simulator(sc, port=0, time_scale=scale) as sim:
                cm = switchyard(client, db, sim.base_url, sc) if sys_name == "switchyard" else litellm(sim.base_url, sc)
                samples, snaps, system = await run_system(cm, sim, args.rate, seconds, max_requests)
        end = max((s.at for s in snaps), default=seconds)
        windows = fault_windows(sc, scale, end)
        fig = figures(samples, snaps, windows, next(iter(sc.targets)), fault_free=fault_free)
        fig.bad_answers = sum(1 for s in samples if s.reply and set(s.reply.flags) & {"foreign_script", "empty",
                                                                                   "repetition", "invalid_json"})
        fig.notes.append(system.events_note)
        if system.events:
            fig.notes.append(f"{len(system.events)} health transitions")
        errors = Counter(s.error.split(" (")[0][:60] for s in samples if s.error)
        if errors:
            fig.notes.append("failures: " + ", ".join(f"{k} x{n}" for k, n in errors.most_common(4)))
        results[sys_name] = fig
        runs[sys_name] = (samples, snaps)
    png = plot(OUT / f"{name}.png", name, runs, list(sc.targets), fault_windows(sc, scale, seconds))
    print_table(name, results, png)
    return results


ROWS = [("requests", "requests", "{:d}"), ("user-visible failures", "failures", "{:d}"),
        ("latency p50 (ms)", "p50_ms", "{:.0f}"), ("latency p95 (ms)", "p95_ms", "{:.0f}"),
        ("latency p99 (ms)", "p99_ms", "{:.0f}"), ("detection delay (s)", "detection_s", "{:.1f}"),
        ("failback (s)", "failback_s", "{:.1f}"),
        ("calls to faulty target after detection", "faulty_share_after_detection", "{:.1%}"),
        ("false failovers", "false_failovers", "{:d}"), ("share flips (thrash)", "thrash", "{:d}"),
        ("cost vs no-fault cost", "cost_ratio", "{:.3f}x"), ("bad answers delivered", "bad_answers", "{:d}")]


def print_table(name: str, results: dict[str, Figures], png: Path) -> None:
    print(f"\n== {name}  (plot: {png})")
    print(f"{'':42}" + "".join(f"{s:>14}" for s in results))
    for label, attr, fmt in ROWS:
        cells = []
        for fig in results.values():
            v = getattr(fig, attr)
            cells.append("-" if v is None else fmt.format(v))
        print(f"{label:42}" + "".join(f"{c:>14}" for c in cells))
    for sys_name, fig in results.items():
        for note in fig.notes:
            print(f"  {sys_name}: {note}")


async def start_temporal(tmp: Path) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter, dev_server_database_filename=str(tmp / "temporal.db"),
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"])


async def main(args: argparse.Namespace) -> None:
    print(f"bench/chaos: {args.rate:g} req/s open loop, speed x{args.speed:g}, systems {', '.join(args.systems)}; "
          f"LiteLLM Router settings {LITELLM_SETTINGS} + fallbacks in chain order")
    OUT.mkdir(parents=True, exist_ok=True)
    all_results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = await start_temporal(Path(tmp))
        async with env:
            for name in args.scenarios:
                res = await run_scenario(env.client, name, args)
                all_results[name] = {k: dataclasses.asdict(v) for k, v in res.items()}
                (OUT / "chaos-results.json").write_text(json.dumps(all_results, indent=2))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="+", help="bundled scenario names or YAML paths")
    ap.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    ap.add_argument("--speed", type=float, default=1.0, help="multiplier on each scenario's time_scale")
    ap.add_argument("--tail", type=float, default=60.0, help="seconds of load after the last scripted step")
    ap.add_argument("--requests", type=int, default=10_000, help="requests for fault-free scenarios")
    ap.add_argument("--systems", default="switchyard,litellm", type=lambda s: s.split(","))
    return ap.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
