"""CPU time per request, by process: where a gateway's throughput goes on a box with few cores.

A closed-loop throughput figure on a 2-core box is set by the CPU every process spends per request
(the gateway, the Temporal server, the simulator, the bench client), not by any one latency. This
bench starts what ``bench/gateway.py`` starts (simulator, ``switchyard gateway`` with its
in-process worker, the embedded dev server on a WAL SQLite file, the LiteLLM proxy), sends
``--requests`` requests at ``--concurrency`` to each system in turn and reads each process tree's
user + system CPU time from ``/proc/<pid>/stat`` before and after (Linux only). It prints CPU ms
per request per process and in all, for direct calls, Switchyard and LiteLLM, plus the throughput
of each run. CPU time is far less noisy than wall time on a shared box: it is what each process
spent, whatever else ran.

    python -m bench.cpu_cost [--requests 600] [--concurrency 16] [--rounds 2] [--upstream-ms 1] [--max-in-flight 16]

With a slow upstream (``--upstream-ms 500 --concurrency 128 --max-in-flight 0``) many provider calls
are in flight at once, as with real providers; ``SWITCHYARD_PROVIDER_TRANSPORT=httpx`` in the
environment runs the gateway on httpx's own transport for an A/B.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import tempfile
import time
from pathlib import Path

import yaml

from bench.gateway import (
    _start_gateway,
    _start_litellm,
    free_port,
    load_client,
    measure,
    sender,
    spawn_simulator,
    stop,
    wait_http,
)
from bench.overhead import SCENARIO, start_dev_server

_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def tree_cpu_ms(pid: int, descendants: bool = True) -> float:
    """User + system CPU time (ms) of ``pid`` and (``descendants``) its live descendants, from ``/proc``."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) * _TICK_MS  # utime, stime (fields 14, 15)
        if descendants:
            todo.extend(_children(p))
    return total


def find_pid(needle: str) -> int:
    """The pid whose command line contains ``needle`` (the dev server, started by the SDK)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if needle.encode() in f.read():
                        return int(entry)
            except OSError:
                continue
    raise RuntimeError(f"no process with {needle!r} in its command line")


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        scenario = copy.deepcopy(SCENARIO)
        ms = args.upstream_ms
        scenario["baseline"]["latency_ms"] = scenario["baseline"]["ttft_ms"] = {"median": ms, "p99": ms * 1.01}
        (tmpd / "scenario.yaml").write_text(yaml.safe_dump(scenario))
        sim_port, gw_port, ll_port = free_port(), free_port(), free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        procs = [spawn_simulator(tmpd / "scenario.yaml", sim_port, tmpd / "sim.log")]
        env = await start_dev_server(tmpd)
        try:
            async with env:
                await wait_http(f"{sim_url}/_sim/state", procs[0], 30, tmpd / "sim.log")
                gw = await _start_gateway(tmpd, sim_url, gw_port, env.client.service_client.config.target_host,
                                          procs, max_in_flight=args.max_in_flight)
                _start_litellm(tmpd, sim_url, ll_port, procs)
                await wait_http(f"http://127.0.0.1:{ll_port}/health/liveliness", procs[-1], 300,
                                tmpd / "litellm.log")
                pids = {"simulator": procs[0].pid, "temporal": find_pid(str(tmpd / "temporal.db")),
                        "gateway": gw.proc.pid, "litellm": procs[-1].pid, "client": os.getpid()}  # client: this process
                async with load_client(args.concurrency * 2) as http:
                    systems = {"direct": sender(http, f"{sim_url}/r/us-east/v1/chat/completions", None),
                               "switchyard": sender(http, f"http://127.0.0.1:{gw_port}/v1/chat/completions", gw.key),
                               "litellm": sender(http, f"http://127.0.0.1:{ll_port}/v1/chat/completions",
                                                 "sk-bench-master")}
                    spent: dict[str, dict[str, float]] = {s: dict.fromkeys(pids, 0.0) for s in systems}
                    done: dict[str, tuple[int, float]] = dict.fromkeys(systems, (0, 0.0))
                    for _ in range(args.rounds):
                        for name, send in systems.items():
                            await measure(send, 4 * args.concurrency, args.concurrency)  # warm-up round
                            await asyncio.sleep(1.0)  # let the last round's bookkeeping settle
                            before = {k: tree_cpu_ms(p, k != "client") for k, p in pids.items()}
                            t0 = time.perf_counter()
                            figs = await measure(send, args.requests // args.rounds, args.concurrency)
                            await asyncio.sleep(1.0)  # work behind the reply (workflow close) counts too
                            wall = time.perf_counter() - t0 - 1.0
                            for k, p in pids.items():
                                spent[name][k] += tree_cpu_ms(p, k != "client") - before[k]
                            n, w = done[name]
                            done[name] = (n + len(figs.samples), w + wall)
        finally:
            for p in reversed(procs):
                stop(p)
    print(f"\nCPU ms per request by process (concurrency {args.concurrency}, {args.requests} requests per system, "
          f"upstream {args.upstream_ms:g} ms, gateway max_in_flight_workflows {args.max_in_flight}, provider "
          f"transport {os.environ.get('SWITCHYARD_PROVIDER_TRANSPORT', 'aiohttp')}; "
          f"load average {os.getloadavg()[0]:.2f})\n")
    cols = list(next(iter(spent.values())))
    print("| system | " + " | ".join(cols) + " | all | req/s |")
    print("|---" * (len(cols) + 3) + "|")
    for name, per in spent.items():
        n, wall = done[name]
        cells = [f"{per[c] / n:.1f}" for c in cols]
        print(f"| {name} | " + " | ".join(cells) + f" | {sum(per.values()) / n:.1f} | {n / wall:.1f} |")
    print("\n(the 1 s settle after each run is included in CPU time, not in req/s; idle processes spend ~0 there)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--upstream-ms", type=float, default=1.0, help="the simulator's answer time (ms)")
    ap.add_argument("--max-in-flight", type=int, default=16,
                    help="the gateway's max_in_flight_workflows (0: no cap; bench/gateway.py uses 16)")
    ap.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(ap.parse_args()))
