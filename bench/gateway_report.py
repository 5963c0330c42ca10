"""The record and the table of ``bench/gateway.py``: figures per system and level, added latency, ratios, goals.

:func:`build_record` turns the measured figures into a JSON-ready dict (the regression record
``bench/results/gateway.json``, the source of the README's figures); :func:`print_report` prints
it as tables. Latencies in ms, throughput in requests/s; a ratio is switchyard / litellm.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from worker.settings import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results" / "gateway.json"
SYSTEMS = ("direct", "switchyard", "litellm")


def _fig(f: Any) -> dict[str, float]:
    return {"p50_ms": round(f.p50, 2), "p99_ms": round(f.p99, 2), "rps": round(f.rps, 1), "errors": f.errors}


def _ratio(ours: float, theirs: float) -> float | None:
    """``ours / theirs``; ``None`` when the reference drowned in the noise (<= 0)."""
    return round(ours / theirs, 3) if theirs > 0 else None


def _level(r: dict[str, Any]) -> dict[str, Any]:
    d, sy, ll = r["direct"], r["switchyard"], r["litellm"]
    added = {name: {"p50_ms": round(f.p50 - d.p50, 2), "p99_ms": round(f.p99 - d.p99, 2)}
             for name, f in (("switchyard", sy), ("litellm", ll))}
    return {"systems": {name: _fig(r[name]) for name in SYSTEMS}, "added": added,
            "ratio": {"added_p50": _ratio(sy.p50 - d.p50, ll.p50 - d.p50),
                      "added_p99": _ratio(sy.p99 - d.p99, ll.p99 - d.p99),
                      "rps": _ratio(sy.rps, ll.rps)},
            "switchyard_p99_over_p50": round(sy.p99 / sy.p50, 2) if sy.p50 > 0 else None}


def build_record(results: dict[int, dict[str, Any]], floor: dict[str, Any], scaled: dict[int, Any], n: int,
                 processes: int) -> dict[str, Any]:
    """The JSON record (see module docstring)."""
    levels = {str(c): _level(r) for c, r in results.items()}
    max_rps = {name: round(max(r[name].rps for r in results.values()), 1) for name in SYSTEMS}
    ratios_p50 = [lv["ratio"]["added_p50"] for lv in levels.values()]
    at32 = levels.get("32", {}).get("switchyard_p99_over_p50")
    goals = {"added_p50_le_litellm_every_level": all(x is not None and x <= 1 for x in ratios_p50),
             "max_rps_ge_litellm": max_rps["switchyard"] >= max_rps["litellm"],
             "p99_le_2x_p50_at_32": at32 is not None and at32 <= 2}
    return {"bench": "bench/gateway.py", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "requests_per_level": n, "cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "switchyard_processes": processes, "levels": levels, "max_rps": max_rps,
            "max_rps_ratio": _ratio(max_rps["switchyard"], max_rps["litellm"]),
            "floor": {"c1": _fig(floor["c1"]), "c32": _fig(floor["c32"])},
            "scale": {str(k): _fig(f) for k, f in scaled.items()}, "goals": goals}


def _x(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def print_report(rec: dict[str, Any], failover: dict[str, Any] | None) -> None:
    """The tables of one run (``failover``: the primary-down phase's figures, or ``None``)."""
    print(f"\nbench/gateway: {rec['requests_per_level']} requests per system and level (simulator answers in "
          f"~1 ms); load average {', '.join(map(str, rec['load_average']))} on {rec['cores']} cores; "
          f"switchyard with {rec['switchyard_processes']} process(es), litellm with 1 worker")
    print(f"\n{'conc':>5}{'direct p50':>11}{'SY +p50':>9}{'LL +p50':>9}{'ratio':>7}{'SY +p99':>9}{'LL +p99':>9}"
          f"{'ratio':>7}{'SY req/s':>10}{'LL req/s':>10}{'ratio':>7}{'SY p99/p50':>11}")
    for c, lv in rec["levels"].items():
        a, r, s = lv["added"], lv["ratio"], lv["systems"]
        print(f"{c:>5}{s['direct']['p50_ms']:>11.1f}{a['switchyard']['p50_ms']:>9.1f}{a['litellm']['p50_ms']:>9.1f}"
              f"{_x(r['added_p50']):>7}{a['switchyard']['p99_ms']:>9.1f}{a['litellm']['p99_ms']:>9.1f}"
              f"{_x(r['added_p99']):>7}{s['switchyard']['rps']:>10.1f}{s['litellm']['rps']:>10.1f}"
              f"{_x(r['rps']):>7}{lv['switchyard_p99_over_p50']:>11}")
    errs = {name: sum(lv["systems"][name]["errors"] for lv in rec["levels"].values()) for name in SYSTEMS}
    print(f"errors: {errs}")
    m = rec["max_rps"]
    print(f"\nmax throughput (req/s): switchyard {m['switchyard']}, litellm {m['litellm']}, direct {m['direct']}; "
          f"ratio {_x(rec['max_rps_ratio'])}")
    f1, f32 = rec["floor"]["c1"], rec["floor"]["c32"]
    print(f"Temporal floor (one no-op local activity, eager start): p50 {f1['p50_ms']} ms, p99 {f1['p99_ms']} ms "
          f"at concurrency 1; {f32['rps']} workflows/s at 32")
    if rec["scale"]:
        base = next(iter(rec["scale"].values()))["rps"]
        print("gateway processes -> req/s: " + ", ".join(
            f"{k}: {f['rps']} ({f['rps'] / base:.2f}x)" for k, f in rec["scale"].items()))
    g = rec["goals"]
    print("\ngoals: " + "; ".join(f"{k} {'MET' if v else 'NOT met'}" for k, v in g.items()))
    if failover:
        print("\nprimary down (503 on every call), concurrency 4")
        for name, f in failover.items():
            print(f"{name:14}{f.p50:>9.1f}{f.p99:>9.1f}{f.rps:>9.1f}{f.errors:>8}")


def load(path: Path = RESULTS) -> dict[str, Any]:
    """A stored record."""
    import json  # noqa: PLC0415

    return json.loads(path.read_text())


def markdown(rec: dict[str, Any]) -> str:
    """The README's table of a record (``python -m bench.gateway_report`` prints it)."""
    lines = ["| concurrency | added p50 Switchyard / LiteLLM (ms) | ratio | added p99 Switchyard / LiteLLM (ms) | "
             "ratio | req/s Switchyard / LiteLLM | ratio | Switchyard p99 / p50 |",
             "|---|---|---|---|---|---|---|---|"]
    for c, lv in rec["levels"].items():
        a, r, s = lv["added"], lv["ratio"], lv["systems"]
        lines.append(f"| {c} | {a['switchyard']['p50_ms']:.1f} / {a['litellm']['p50_ms']:.1f} | {_x(r['added_p50'])} "
                     f"| {a['switchyard']['p99_ms']:.1f} / {a['litellm']['p99_ms']:.1f} | {_x(r['added_p99'])} "
                     f"| {s['switchyard']['rps']:.1f} / {s['litellm']['rps']:.1f} | {_x(r['rps'])} "
                     f"| {lv['switchyard_p99_over_p50']} |")
    m, f = rec["max_rps"], rec["floor"]
    lines += ["", f"Max throughput: Switchyard {m['switchyard']} req/s, LiteLLM {m['litellm']} req/s "
                  f"({_x(rec['max_rps_ratio'])}). Temporal's floor (one no-op local activity, eager start): "
                  f"p50 {f['c1']['p50_ms']} ms at concurrency 1, {f['c32']['rps']} workflows/s at 32. "
                  f"Run of {rec['when']}, {rec['requests_per_level']} requests per system and level, load "
                  f"average {rec['load_average'][0]} on {rec['cores']} cores."]
    if rec["scale"]:
        lines.append("Gateway processes -> req/s at the highest level: " + ", ".join(
            f"{k}: {v['rps']}" for k, v in rec["scale"].items()) + ".")
    lines.append("Goals: " + "; ".join(f"{k.replace('_', ' ')}: {'met' if v else 'NOT met'}"
                                       for k, v in rec["goals"].items()) + ".")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(load()))
