"""The prober and calls in flight, and streamed probes, on real components: the simulator over
loopback, the real adapters, the real database (probe rows), a monitor on a fake clock so the
prober's idle and spacing rules are driven step by step (the provider calls themselves are real).

Assertions are counts and classes (calls the simulator saw, probes sent, status classes), never
durations.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from activities.health.monitor import HealthMonitor
from activities.health.prober import Prober
from activities.providers.base import ProviderCall, ProviderError
from activities.providers.http import make_http_client
from activities.providers.registry import adapter_for
from activities.storage.health import HealthStore
from activities.storage.health_tables import health_probes
from core.chat import ChatMessage, ChatRequest
from core.config import SwitchyardConfig
from core.errors import ErrorClass
from core.health.inflight import OVERDUE_GRACE_S
from simulator.server import RunningSimulator, run_simulator
from tests.configs import sim_config_dict
from worker.config_loader import ConfigHolder, parse_config

PRIMARY = "openai/gpt-4o@us-east"
BACKUP = "gemini/gemini-2.0-flash@us-central"
IDLE_S = 3.0  # probe_idle_s of these tests (default 30 s): fake-time jumps stay inside the calls' timeouts


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def config(base_url: str, targets: dict[str, dict[str, Any]] | None = None) -> SwitchyardConfig:
    """The simulated config with one route (PRIMARY, BACKUP) and ``probe_idle_s`` = IDLE_S;
    ``targets``: fields to replace, per target id."""
    data = sim_config_dict(base_url, default_route="r", routes={"r": {"chain": [PRIMARY, BACKUP]}},
                           health={"probe_idle_s": IDLE_S})
    for t in data["targets"]:
        t.update((targets or {}).get(f"{t['provider']}/{t['model']}@{t['region']}", {}))
        for name in ("first_token_timeout_s", "stream_idle_timeout_s"):  # keep them within a shortened timeout_s
            if t.get(name) is not None and "timeout_s" in t:
                t[name] = min(t[name], t["timeout_s"])
    return parse_config(yaml.safe_dump(data), f"probe-test@{base_url}")


@dataclass
class Rig:
    sim: RunningSimulator
    monitor: HealthMonitor
    prober: Prober
    configs: ConfigHolder
    http: httpx.AsyncClient
    clock: Clock

    def calls(self, target: str) -> dict:
        return self.sim.world.stats.snapshot(self.sim.world.targets)["targets"].get(target, {"calls": 0, "hangs": 0})

    def probed(self, target: str) -> list[str]:
        return [r.status for t, r in self.prober.results if t == target]

    async def settle(self) -> None:
        """Wait for every probe this prober started."""
        await asyncio.gather(*list(self.prober._tasks))

    async def apply(self, target: str, **settings: Any) -> None:
        async with httpx.AsyncClient() as c:
            (await c.post(f"{self.sim.base_url}/_sim/apply", json={"target": target, "set": settings})
             ).raise_for_status()

    async def user_call(self, target: str) -> str:
        """One user call through the adapter, wrapped in ``monitor.in_flight`` as the attempt
        activity does; returns ``"ok"`` or the error class."""
        cfg, _ = self.configs.current()
        t = cfg.target(target)
        req = ChatRequest(messages=[ChatMessage(role="user", content="Where is my order?")], max_tokens=50)
        with self.monitor.in_flight(target):
            try:
                async with asyncio.timeout(t.timeout_s):
                    await adapter_for("openai").complete(self.http, ProviderCall(t, cfg.providers[t.provider], None,
                                                                                 req, t.timeout_s))
            except ProviderError as e:
                return e.error_class.value
            except TimeoutError:
                return ErrorClass.TIMEOUT.value
        return "ok"


@contextlib.asynccontextmanager
async def rig(engine, targets: dict[str, dict[str, Any]] | None = None) -> AsyncIterator[Rig]:
    async with run_simulator("basic-no-faults", port=0, time_scale=1) as sim:
        configs = ConfigHolder.fixed(config(sim.base_url, targets))
        clock = Clock()
        http = make_http_client()
        monitor = HealthMonitor(configs, clock=clock)
        prober = Prober(monitor, configs, http, HealthStore(engine), "w-probe-test")
        try:
            yield Rig(sim, monitor, prober, configs, http, clock)
        finally:
            await prober.aclose()
            await http.aclose()


async def tick_every(r: Rig, step_s: float, times: int) -> None:
    """Advance the fake clock by ``step_s`` and run one prober pass, ``times`` times, letting each
    started probe finish (so the two probe slots never hide a decision)."""
    for _ in range(times):
        r.clock.t += step_s
        r.prober.tick()
        await r.settle()


async def test_a_target_with_calls_in_flight_is_not_probed_until_they_end_and_it_goes_idle(engine) -> None:
    async with rig(engine) as r:
        await tick_every(r, 5.0, 2)  # both targets never seen: idle, probed once each
        assert r.probed(PRIMARY) == ["ok"] and r.probed(BACKUP) == ["ok"]
        await r.apply(PRIMARY, stall_ms=3000)  # user calls that take a while (real seconds)
        calls = [asyncio.create_task(r.user_call(PRIMARY)) for _ in range(2)]
        while r.monitor.in_flight_count(PRIMARY) < 2:
            await asyncio.sleep(0.01)
        r.clock.t += IDLE_S + 1
        assert PRIMARY not in r.prober.candidates(r.clock.t) and BACKUP in r.prober.candidates(r.clock.t)
        for _ in range(3):  # synchronous passes, all inside the stall; 13 fake s < 15 s timeout + 5 s grace
            r.clock.t += IDLE_S
            r.prober.tick()
        assert not any(c.done() for c in calls), "the user calls ended before the passes ran"
        assert f"probe {PRIMARY}" not in {t.get_name() for t in r.prober._tasks}
        assert await asyncio.gather(*calls) == ["ok", "ok"]
        await r.settle()
        assert r.probed(PRIMARY) == ["ok"] and r.calls(PRIMARY)["calls"] == 3  # 1 probe + 2 user calls
        await r.apply(PRIMARY, stall_ms=0)
        r.prober.tick()  # the calls just ended: that is activity, not idleness
        await r.settle()
        assert r.probed(PRIMARY) == ["ok"]
        r.clock.t += IDLE_S + 1
        for _ in range(5):  # idle again: probed within a few passes (the budget and BACKUP share them)
            if len(r.probed(PRIMARY)) == 2:
                break
            await tick_every(r, 2.0, 1)
        assert r.probed(PRIMARY) == ["ok", "ok"] and r.calls(PRIMARY)["calls"] == 4


async def test_a_hung_target_gets_no_probes_stacked_on_its_stuck_request(engine) -> None:
    async with rig(engine, {PRIMARY: {"timeout_s": 8}}) as r:
        await r.apply(PRIMARY, hang_share=1.0)  # accepts the connection, never answers
        stuck = asyncio.create_task(r.user_call(PRIMARY))
        while r.calls(PRIMARY)["hangs"] < 1:
            await asyncio.sleep(0.01)
        # PRIMARY was never seen, so it is idle; 8 fake s (< 8 s timeout + 5 s grace) of prober
        # passes probe BACKUP and never the hung target.
        await tick_every(r, 1.0, 8)
        assert not stuck.done(), "the stuck call timed out before the passes ran"
        assert r.probed(PRIMARY) == [] and set(r.probed(BACKUP)) == {"ok"}  # BACKUP: every 5 s
        assert r.calls(PRIMARY)["calls"] == 1 and r.calls(PRIMARY)["hangs"] == 1
        assert r.monitor.in_flight_count(PRIMARY) == 1
        # The stuck request reports itself when its own timeout fires (real seconds).
        assert await stuck == ErrorClass.TIMEOUT.value
        assert r.monitor.in_flight_count(PRIMARY) == 0 and r.calls(PRIMARY)["calls"] == 1


async def test_an_overdue_call_no_longer_blocks_probes(engine) -> None:
    async with rig(engine) as r:
        token = r.monitor.call_started(PRIMARY, timeout_s=4.0)  # a leaked token: never ended
        r.clock.t += IDLE_S + 1  # 4 s: idle, and the call is still inside its 4 s + 5 s grace
        assert PRIMARY not in r.prober.candidates(r.clock.t)
        r.clock.t += OVERDUE_GRACE_S + 1  # past its timeout plus the grace: its report is not coming
        assert PRIMARY in r.prober.candidates(r.clock.t)
        assert r.monitor.in_flight_count(PRIMARY) == 1
        r.monitor.call_ended(token)


async def test_streamed_probe_passes_with_its_ttft_and_fails_on_a_slow_first_token(engine) -> None:
    async with rig(engine, {BACKUP: {"first_token_timeout_s": 1.0}}) as r:  # timeout_s stays 15 s
        assert await r.prober.probe(PRIMARY) == "ok"
        (_, ok), = r.prober.results
        assert ok.streamed and ok.ttft_ms is not None and ok.ttft_ms > 0 and ok.tokens > 0
        await r.apply(BACKUP, ttft_ms={"median": 6000, "p99": 6500})
        assert await r.prober.probe(BACKUP) == ErrorClass.TIMEOUT.value
        (_, late), = [x for x in r.prober.results if x[0] == BACKUP]
        assert late.streamed and late.ttft_ms is None and late.message == "no first token within 1 s"
        assert r.monitor.board.trackers[BACKUP].timeouts == 1  # fed to health as a timeout failure
    async with engine.connect() as conn:
        rows = {tuple(x) for x in (await conn.execute(
            sa.select(health_probes.c.target, health_probes.c.status_class))).all()}
        messages = [m for (m,) in (await conn.execute(sa.select(health_probes.c.message).where(
            health_probes.c.target == PRIMARY))).all()]
    assert rows == {(PRIMARY, "ok"), (BACKUP, ErrorClass.TIMEOUT.value)}
    assert messages and messages[0].startswith("first token ")


async def test_a_target_without_streaming_is_probed_with_a_plain_call(engine) -> None:
    async with rig(engine, {PRIMARY: {"capabilities": ["chat", "json", "sampling"]}}) as r:
        assert await r.prober.probe(PRIMARY) == "ok"
        (_, res), = r.prober.results
        assert not res.streamed and res.ttft_ms is None
