"""Where the gateway's added milliseconds go: stage timers (and optionally cProfile) on the real stack.

One process hosts the gateway app (uvicorn on loopback, auth on, a gateway key, SQLite database),
its in-process request worker and Temporal client; the dev server (WAL SQLite file) and the
simulator (answers in ~1 ms) are real. Requests are sent **sequentially** (concurrency 1) by an
httpx client with keep-alive, so a stage's wall time is its own cost, not time spent waiting for
other requests.

Stage timers wrap the functions each stage is made of (``perf_counter`` before and after; the
wrappers are installed by this script only, the product code carries no timers):

- ``http.*``: the gateway handler's own steps (auth + key lookup, body read, validation,
  ``RequestInput`` building, admission, response encoding);
- ``wf.start``: the ``StartWorkflowExecution`` RPC (eager: the first workflow task comes back in
  its reply); ``wf.result``: waiting for the result after the start returned;
- ``act.plan``, ``act.attempt``: the local activities' bodies; inside the attempt,
  ``attempt.http`` (the provider call through the pooled httpx client) and
  ``attempt.outcome_write`` (the outcome row's upsert);
- derived gaps: ``temporal.before_plan`` (start returned -> plan began), ``temporal.plan_to_attempt``,
  ``temporal.after_attempt`` (attempt ended -> result in the handler: workflow task completion, the
  close event, the result long-poll).

``--variants baseline,plan,early,head`` measures the cuts side by side in one run (interleaved
rounds): ``baseline`` = the workflow plans and the handler waits for the workflow's result, ``plan``
= planned in the gateway, ``early`` = planned + early reply, ``head`` = planned + early reply + head
start (the first call begins while the workflow starts; what the gateway does by default).

    python -m bench.profile_gateway [--requests 300] [--variants head] [--cprofile out.pstats] [--top 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import io
import pstats
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.storage.api_keys import ApiKeyStore
from bench.overhead import MESSAGES, SCENARIO, start_dev_server
from core.stats import percentile
from migrations.runner import upgrade
from simulator.server import run_simulator
from worker.config_loader import ConfigHolder
from worker.simulated import sim_config

TIMES: dict[str, list[float]] = defaultdict(list)
MARKS: dict[str, float] = {}  # the last request's stage boundaries (perf_counter s), c=1 only


def _timed_async(name: str, fn: Callable[..., Any], mark: tuple[str, str] | None = None) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        if mark:
            MARKS[mark[0]] = t
        try:
            return await fn(*a, **kw)
        finally:
            end = time.perf_counter()
            if mark:
                MARKS[mark[1]] = end
            TIMES[name].append((end - t) * 1000)
    return wrapper


def _timed_sync(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            TIMES[name].append((time.perf_counter() - t) * 1000)
    return wrapper


def install_timers() -> None:
    """Wrap the stage functions (module attributes, so the call sites pick the wrappers up)."""
    from activities import attempt as attempt_mod
    from activities.attempt import AttemptActivities
    from activities.early_reply import EarlyReplies
    from activities.planning import PlanningActivities
    from activities.storage.outcomes import OutcomeStore
    from worker.gateway import admitted, chat
    from worker.submit import SwitchyardClient

    chat.authenticate = _timed_async("http.auth_and_key_lookup", chat.authenticate)
    chat.read_body = _timed_async("http.read_body", chat.read_body)
    chat.parse_chat = _timed_sync("http.parse_and_validate", chat.parse_chat)
    chat.build_request = _timed_sync("http.build_request_input", chat.build_request)
    admitted.admit = _timed_async("http.budget_admit", admitted.admit)
    chat.completion_body = _timed_sync("http.encode_completion_body", chat.completion_body)
    chat.trace_headers = _timed_sync("http.trace_headers", chat.trace_headers)
    real_early = EarlyReplies.offer

    def offer(self: Any, workflow_id: str, result: Any) -> None:
        MARKS["att1"] = MARKS["offer"] = time.perf_counter()  # the reply may leave now
        TIMES["early.offered"].append(0.0)
        real_early(self, workflow_id, result)
    EarlyReplies.offer = offer
    chat.JSONResponse = _timed_sync("http.json_response_render", chat.JSONResponse)
    SwitchyardClient.start = _timed_async("wf.start", SwitchyardClient.start, ("start0", "start1"))
    SwitchyardClient.result = _timed_async("wf.result", SwitchyardClient.result, ("result0", "result1"))
    chat.first_answer = _timed_async("wf.first_answer", chat.first_answer, ("result0", "result1"))
    chat.plan_ahead = _timed_async("http.plan_ahead", chat.plan_ahead)
    PlanningActivities.plan = _keep_defn(PlanningActivities.plan, "act.plan", ("plan0", "plan1"))
    AttemptActivities.attempt = _keep_defn(AttemptActivities.attempt, "act.attempt", ("att0", "att1"))
    OutcomeStore.record = _timed_async("attempt.outcome_write", OutcomeStore.record)
    OutcomeStore.journaled = _timed_async("attempt.journal_lookup (recovering only)", OutcomeStore.journaled)
    real_adapter_for = attempt_mod.adapter_for

    def adapter_for(protocol: str) -> Any:
        adapter = real_adapter_for(protocol)
        return _TimedAdapter(adapter)
    attempt_mod.adapter_for = adapter_for
    _time_completions()


def _time_completions() -> None:
    """Mark when the activation completing the workflow is handed to the SDK core and when core
    returns (core reports the workflow task to the server inside that call)."""
    from temporalio.bridge import worker as bridge_worker

    real = bridge_worker.Worker.complete_workflow_activation

    async def complete(self: Any, comp: Any) -> None:
        closing = any(c.HasField("complete_workflow_execution") or c.HasField("fail_workflow_execution")
                      for c in comp.successful.commands) if comp.HasField("successful") else False
        t = time.perf_counter()
        if closing:
            MARKS["close0"] = t
        try:
            await real(self, comp)
        finally:
            end = time.perf_counter()
            TIMES["core.complete_activation"].append((end - t) * 1000)
            if closing:
                MARKS["close1"] = end
    bridge_worker.Worker.complete_workflow_activation = complete


def _keep_defn(fn: Callable[..., Any], name: str, mark: tuple[str, str]) -> Callable[..., Any]:
    """Wrap an ``@activity.defn`` method and keep its definition attribute (the worker reads it)."""
    wrapped = _timed_async(name, fn, mark)
    wrapped.__temporal_activity_definition = fn.__temporal_activity_definition  # type: ignore[attr-defined]
    return wrapped


class _TimedAdapter:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def complete(self, http: httpx.AsyncClient, call: Any) -> Any:
        t = time.perf_counter()
        try:
            return await self._inner.complete(http, call)
        finally:
            TIMES["attempt.http"].append((time.perf_counter() - t) * 1000)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _gaps() -> None:
    m = MARKS
    if {"start1", "offer", "result1"} <= m.keys():  # early replies: start returned -> offered -> handler
        TIMES["gap.start_returned_to_offer"].append((m["offer"] - m["start1"]) * 1000)
        TIMES["gap.offer_to_handler"].append((m["result1"] - m["offer"]) * 1000)
    if {"start1", "plan0", "plan1", "att0", "att1", "result1"} <= m.keys():
        TIMES["temporal.before_plan"].append((m["plan0"] - m["start1"]) * 1000)
        TIMES["temporal.plan_to_attempt"].append((m["att0"] - m["plan1"]) * 1000)
        TIMES["temporal.after_attempt"].append((m["result1"] - m["att1"]) * 1000)
        _close_gaps(m)
    elif {"start1", "att0", "att1", "result1"} <= m.keys():  # planned before the start: no plan activity
        TIMES["temporal.before_attempt"].append((m["att0"] - m["start1"]) * 1000)
        TIMES["temporal.after_attempt"].append((m["result1"] - m["att1"]) * 1000)
        _close_gaps(m)
    MARKS.clear()


def _close_gaps(m: dict[str, float]) -> None:
    if {"close0", "close1"} <= m.keys():
        TIMES["temporal.after_attempt.1_activation"].append((m["close0"] - m["att1"]) * 1000)
        TIMES["temporal.after_attempt.2_task_completed_rpc"].append((m["close1"] - m["close0"]) * 1000)
        TIMES["temporal.after_attempt.3_result_poll"].append((m["result1"] - m["close1"]) * 1000)


#: Variants: which cuts are on. ``baseline``: the workflow plans and the handler waits for the
#: workflow's result; ``plan``: planned in the gateway; ``early``: planned + early reply; ``head``:
#: planned + early reply + head start (what the gateway does by default).
VARIANTS = ("baseline", "plan", "early", "head")


def _set_variant(gw: Any, variant: str, planner: Any, early: Any, heads: Any) -> None:
    gw.planner = None if variant == "baseline" else planner
    gw.services.early = early if variant in ("early", "head") else None
    gw.services.heads = heads if variant == "head" else None


async def run(n: int, prof: cProfile.Profile | None, variants: list[str], rounds: int,
              tracing: bool) -> tuple[list[float], dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    from worker.gateway.app import build_app
    from worker.gateway.server import serve_app
    from worker.gateway.state import open_gateway

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        db = f"sqlite:///{tmpd / 'switchyard.db'}"
        await asyncio.to_thread(upgrade, db)
        (tmpd / "s.yaml").write_text(yaml.safe_dump(SCENARIO))
        env = await start_dev_server(tmpd)
        async with env, run_simulator(str(tmpd / "s.yaml"), port=0) as sim:
            holder = ConfigHolder.fixed(sim_config(sim.base_url, gateway={"auth": "required"}))
            client = env.client
            if tracing:  # as worker.client.connect builds it
                client = await Client.connect(env.client.service_client.config.target_host,
                                              data_converter=pydantic_data_converter,
                                              interceptors=[TracingInterceptor()])
            async with open_gateway(client, holder, db, "profile-gateway") as gw:
                planner, early, heads = gw.planner, gw.services.early, gw.services.heads
                key = (await ApiKeyStore(gw.services.engine).create("bench")).key
                async with serve_app(build_app(gw)) as url, httpx.AsyncClient(timeout=30) as http:
                    direct = await _loop(http, f"{sim.base_url}/r/us-east/v1/chat/completions", None, n, None)
                    totals: dict[str, list[float]] = {v: [] for v in variants}
                    stages: dict[str, dict[str, list[float]]] = {v: defaultdict(list) for v in variants}
                    for _ in range(rounds):  # interleaved, so machine noise hits every variant alike
                        for v in variants:
                            _set_variant(gw, v, planner, early, heads)
                            totals[v] += await _loop(http, f"{url}/v1/chat/completions", key, n // rounds, prof)
                            for k, vals in TIMES.items():
                                stages[v][k] += vals
                    _set_variant(gw, "head", planner, early, heads)
    return direct, totals, stages


async def _loop(http: httpx.AsyncClient, url: str, key: str | None, n: int,
                prof: cProfile.Profile | None) -> list[float]:
    body = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 200}
    headers = {"authorization": f"Bearer {key}"} if key else {}
    for _ in range(10):  # warm-up
        (await http.post(url, json=body, headers=headers)).raise_for_status()
    TIMES.clear()
    MARKS.clear()
    out = []
    with prof if prof is not None else contextlib.nullcontext():
        for _ in range(n):
            t = time.perf_counter()
            r = await http.post(url, json=body, headers=headers)
            out.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            _gaps()
    return out


def report(direct: list[float], totals: dict[str, list[float]], stages: dict[str, dict[str, list[float]]]) -> None:
    d50, d99 = percentile(direct, 50), percentile(direct, 99)
    print(f"\nbench/profile_gateway: sequential requests; direct p50 {d50:.2f} ms, p99 {d99:.2f} ms")
    for v, total in totals.items():
        n = len(total)
        print(f"\nvariant {v}: {n} requests, through the gateway p50 {percentile(total, 50):.2f} ms; "
              f"added p50 {percentile(total, 50) - d50:.2f} ms, p99 {percentile(total, 99) - d99:.2f} ms")
        print(f"{'stage':44}{'p50 ms':>9}{'mean ms':>9}{'calls/req':>10}")
        for name in sorted(stages[v]):
            vals = stages[v][name]
            print(f"{name:44}{percentile(vals, 50):>9.2f}{sum(vals) / len(vals):>9.2f}{len(vals) / n:>10.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300, help="per variant")
    ap.add_argument("--variants", default="head", help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cprofile", type=Path, default=None, help="write cProfile stats of the timed loops here")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--tracing", action="store_true", help="client with Temporal's TracingInterceptor")
    ap.add_argument("--no-timers", action="store_true", help="cProfile only (timers add ~0.01 ms per stage)")
    a = ap.parse_args()
    if not a.no_timers:
        install_timers()
    prof = cProfile.Profile() if a.cprofile else None
    direct, totals, stages = asyncio.run(run(a.requests, prof, a.variants.split(","), a.rounds, a.tracing))
    report(direct, totals, stages)
    if prof is not None:
        prof.dump_stats(a.cprofile)
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(a.top)
        print(s.getvalue())


if __name__ == "__main__":
    main()
