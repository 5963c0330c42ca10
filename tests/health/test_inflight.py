"""In-flight bookkeeping (``core/health/inflight.py``) and the monitor's API around it, on a fake clock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from activities.health.monitor import HealthMonitor
from activities.health.probe_call import first_token_timeout_s
from core.health.inflight import OVERDUE_GRACE_S, InFlight
from tests.configs import sim_config
from worker.config_loader import ConfigHolder

PRIMARY = "openai/gpt-4o@us-east"  # timeout_s 15 in examples/simulated.yaml


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_registry_counts_calls_and_knows_the_oldest_and_the_overdue() -> None:
    reg = InFlight()
    a = reg.start("t", 100.0, timeout_s=10.0)
    reg.start("t", 103.0, timeout_s=10.0)
    assert (reg.count("t"), reg.oldest_started("t"), reg.oldest_age_s("t", 104.0)) == (2, 100.0, 4.0)
    assert reg.live("t", 100.0 + 10.0 + OVERDUE_GRACE_S) == 2
    assert reg.live("t", 100.0 + 10.0 + OVERDUE_GRACE_S + 0.1) == 1  # the first call is overdue, the second is not
    assert reg.last_active("t", 104.0) == 104.0 and reg.last_ended("t") is None
    reg.end(a, 105.0)
    reg.end(a, 200.0)  # ending twice is a no-op
    assert (reg.count("t"), reg.oldest_started("t"), reg.last_ended("t")) == (1, 103.0, 105.0)
    assert reg.count("other") == 0 and reg.oldest_age_s("other", 1.0) is None and reg.last_active("other", 1.0) is None


def test_overdue_calls_stop_counting_as_activity() -> None:
    reg = InFlight()
    reg.start("t", 0.0, timeout_s=1.0)
    assert reg.last_active("t", 1.0) == 1.0
    assert reg.last_active("t", 1.0 + OVERDUE_GRACE_S + 1) is None and reg.count("t") == 1


def test_monitor_in_flight_context_manager_and_tokens() -> None:
    clock = Clock()
    monitor = HealthMonitor(ConfigHolder.fixed(sim_config("http://127.0.0.1:9")), clock=clock)
    with monitor.in_flight(PRIMARY) as token:
        assert token.timeout_s == 15.0  # the target's timeout_s from the live config
        clock.t += 2
        assert monitor.in_flight_count(PRIMARY) == 1 and monitor.oldest_in_flight_s(PRIMARY) == 2.0
        assert monitor.busy(PRIMARY)
    assert monitor.in_flight_count(PRIMARY) == 0 and not monitor.busy(PRIMARY)
    assert monitor.calls.last_ended(PRIMARY) == clock.t
    with pytest.raises(RuntimeError), monitor.in_flight(PRIMARY, timeout_s=3.0):
        raise RuntimeError("provider call failed")
    assert monitor.in_flight_count(PRIMARY) == 0
    token = monitor.call_started("not/configured@x")
    assert token.timeout_s == 30.0 and monitor.busy("not/configured@x")
    assert not monitor.busy("not/configured@x", now=clock.t + 30.0 + OVERDUE_GRACE_S + 1)
    monitor.call_ended(token)
    monitor.call_ended(token)
    assert monitor.in_flight_count("not/configured@x") == 0


async def test_a_cancelled_call_is_no_longer_in_flight() -> None:
    monitor = HealthMonitor(ConfigHolder.fixed(sim_config("http://127.0.0.1:9")), clock=Clock())

    async def call() -> None:
        with monitor.in_flight(PRIMARY):
            await asyncio.sleep(3600)

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    assert monitor.in_flight_count(PRIMARY) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert monitor.in_flight_count(PRIMARY) == 0


def test_first_token_timeout_falls_back_to_min_of_timeout_and_10_s() -> None:
    assert first_token_timeout_s(SimpleNamespace(timeout_s=30.0)) == 10.0  # field absent (older config)
    assert first_token_timeout_s(SimpleNamespace(timeout_s=4.0, first_token_timeout_s=None)) == 4.0
    assert first_token_timeout_s(SimpleNamespace(timeout_s=30.0, first_token_timeout_s=2.5)) == 2.5
