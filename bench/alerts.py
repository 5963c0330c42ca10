"""Alert fatigue benchmark: every fault scenario under load, the alert evaluator running beside it.

    python -m bench.alerts [SCENARIO ...] [--rate 10] [--speed 1] [--rule-scale 20] [--tail 60]

For each scenario (default: every bundled one): a fresh simulator replaying it, Switchyard on the
embedded default (``bench/chaos_systems.py``, one in-process worker with its health layer
publishing to the database), open-loop load at ``--rate`` requests/s, and
:class:`activities.alerts.evaluator.AlertEvaluator` ticking with the default rules
(``core/alerts.py``). Rule windows and durations are divided by ``--rule-scale`` (default 20: the
300 s long window becomes 15 s of real time, the 30 s ``for`` 1.5 s), whatever the scenario's own
compression: a window must hold enough requests at the bench's rate to pass the volume guards, and
the scenarios last minutes of real time where production windows are 5 minutes.

Printed per scenario: alerts fired by rule, the delay from the first fault to the first alert (s,
real time), alerts that fired outside every fault window plus one long window of grace
(false alerts), and alerts still firing at the end. The goal on ``basic-no-faults``: zero alerts.
Figures go to ``bench/results/alerts.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from activities.alerts.evaluator import AlertEvaluator
from bench.chaos import horizon, start_temporal
from bench.chaos_metrics import fault_windows
from bench.chaos_systems import chaos_config, switchyard
from bench.load import Load, run_load
from core.alerts import DEFAULT_RULES
from migrations.runner import upgrade
from simulator.scenario import load_scenario
from simulator.server import run_simulator
from worker.config_loader import ConfigHolder

RESULTS = Path(__file__).resolve().parent / "results" / "alerts.json"
SCENARIOS = Path(__file__).resolve().parent.parent / "simulator" / "scenarios"


async def run_scenario(client, name: str, args: argparse.Namespace) -> dict:  # type: ignore[no-untyped-def]
    """Run one scenario; returns its figures (see module docstring)."""
    sc = load_scenario(name)
    scale = sc.time_scale * args.speed
    factor = args.rule_scale
    rules = {k: r.scaled(factor) for k, r in DEFAULT_RULES.items()}
    seconds = horizon(sc, scale, args.tail) if sc.timeline else args.quiet_s
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, db)
        async with run_simulator(sc, port=0, time_scale=scale) as sim, httpx.AsyncClient() as http:
            async with switchyard(client, db, sim.base_url, sc) as system:
                from activities.storage.engine import make_engine  # noqa: PLC0415
                engine = make_engine(db)
                cfg = ConfigHolder.fixed(chaos_config(sim.base_url, sc))
                ev = AlertEvaluator(engine, cfg, http, rules=rules)
                sim.world.reset()
                load, stop, events = Load(), asyncio.Event(), []
                started = time.time()

                async def evaluate() -> None:
                    while not stop.is_set():
                        events.extend(await ev.tick())
                        await asyncio.sleep(max(0.2, 10.0 / factor))
                task = asyncio.create_task(evaluate())
                asyncio.get_running_loop().call_later(seconds, stop.set)
                await run_load(system.send, args.rate, stop, load)
                stop.set()
                await task
                await engine.dispose()
    windows = fault_windows(sc, scale, seconds)
    spans = [w for ws in windows.values() for w in ws]
    grace = rules["error_rate"].long_window_s
    fired = [e for e in events if e.status == "firing"]
    rel = [(e, e.at - started) for e in fired]
    false = [e for e, at in rel if not any(a <= at <= b + grace for a, b in spans)]
    first_fault = min((a for a, _ in spans), default=None)
    delay = min(at for _, at in rel) - first_fault if rel and first_fault is not None else None
    still = {(e.rule, e.subject) for e in fired} - {(e.rule, e.subject) for e in events if e.status == "resolved"}
    return {"scenario": name, "requests": len(load.samples), "alerts": len(fired),
            "by_rule": dict(Counter(e.rule for e in fired)), "false_alerts": len(false),
            "false": [f"{e.rule} {e.subject}" for e in false], "first_alert_delay_s": delay,
            "still_firing": len(still), "faults": len(spans)}


def print_row(r: dict) -> None:
    delay = "-" if r["first_alert_delay_s"] is None else f"{r['first_alert_delay_s']:.1f}"
    rules = ", ".join(f"{k} x{v}" for k, v in sorted(r["by_rule"].items())) or "-"
    print(f"{r['scenario']:40} {r['faults']:>6} {r['alerts']:>6} {delay:>9} {r['false_alerts']:>6} "
          f"{r['still_firing']:>6}  {rules}")


async def main(args: argparse.Namespace) -> None:
    names = args.scenarios or sorted(p.stem for p in SCENARIOS.glob("*.yaml") if not p.stem.startswith("stream-"))
    print(f"bench/alerts: {args.rate:g} req/s, speed x{args.speed:g}, rule windows and durations / {args.rule_scale:g} "
          f"(long window {DEFAULT_RULES['error_rate'].long_window_s / args.rule_scale:g} s real time)")
    print(f"{'scenario':40} {'faults':>6} {'alerts':>6} {'delay s':>9} {'false':>6} {'open':>6}  by rule")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        async with await start_temporal(Path(tmp)) as env:
            for name in names:
                r = await run_scenario(env.client, name, args)
                print_row(r)
                results.append(r)
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                RESULTS.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    quiet = [r for r in results if r["faults"] == 0]
    print(f"no-fault scenarios: {sum(r['alerts'] for r in quiet)} alerts (goal 0); "
          f"false alerts over all: {sum(r['false_alerts'] for r in results)}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", help="bundled scenario names or YAML paths (default: all but stream-*)")
    ap.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    ap.add_argument("--speed", type=float, default=1.0, help="multiplier on each scenario's time_scale")
    ap.add_argument("--rule-scale", type=float, default=20.0, help="divide rule windows by this (default 20)")
    ap.add_argument("--tail", type=float, default=60.0, help="seconds of load after the last scripted step")
    ap.add_argument("--quiet-s", type=float, default=120.0, help="seconds of load for fault-free scenarios")
    return ap.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
