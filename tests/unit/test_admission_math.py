"""Token-bucket math, priority names and the overload shares (pure, ``core/``)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from core.admission_config import AdmissionConfig, OverloadConfig
from core.concurrency import AimdState, ConcurrencySettings, admits, update
from core.failover_budget import FailoverBudget, FailoverBudgetSettings
from core.priority import InvalidPriority, parse_priority, priority_name
from core.ratelimit import BucketSpec, BucketState, charge, duration_text, refill, reset_s, take_all

RPM = BucketSpec("tenant:a:requests", capacity=60, rate_per_s=1.0, cost=1)


def test_a_missing_bucket_is_full_and_refills_at_its_rate_up_to_capacity() -> None:
    assert refill(None, RPM, now=100.0) == 60
    assert refill(BucketState(tokens=10, updated_at=100.0), RPM, now=105.0) == 15
    assert refill(BucketState(tokens=59, updated_at=100.0), RPM, now=200.0) == 60
    assert refill(BucketState(tokens=10, updated_at=100.0), RPM, now=90.0) == 10  # clock stepped back


def test_take_all_is_all_or_nothing_and_waits_for_the_slowest_bucket() -> None:
    tokens = BucketSpec("tenant:a:tokens", capacity=1000, rate_per_s=10.0, cost=300)
    states = {RPM.key: BucketState(tokens=5, updated_at=0.0), tokens.key: BucketState(tokens=100, updated_at=0.0)}
    d = take_all(states, [RPM, tokens], now=0.0)
    assert not d.allowed
    assert d.retry_after_s == pytest.approx(20.0)  # (300 - 100) / 10 tokens per s
    assert d.levels == {RPM.key: 5, tokens.key: 100}  # nothing taken from the request bucket
    ok = take_all(states, [RPM, tokens], now=20.0)
    assert ok.allowed and ok.retry_after_s == 0
    assert ok.levels == {RPM.key: pytest.approx(24.0), tokens.key: pytest.approx(0.0)}


def test_a_cost_above_capacity_can_never_be_served() -> None:
    big = BucketSpec("key:k:tokens", capacity=100, rate_per_s=1.0, cost=101)
    assert math.isinf(take_all({}, [big], now=0.0).retry_after_s)


def test_settlement_refunds_up_to_capacity_and_may_leave_a_debt() -> None:
    spec = BucketSpec("t", capacity=100, rate_per_s=1.0, cost=-50)
    assert charge(BucketState(tokens=80, updated_at=0.0), spec, now=0.0) == 100
    debt = BucketSpec("t", capacity=100, rate_per_s=1.0, cost=130)
    assert charge(BucketState(tokens=20, updated_at=0.0), debt, now=0.0) == -110
    assert reset_s(-110, debt) == pytest.approx(210.0)


@pytest.mark.parametrize(("seconds", "text"), [(0.012, "12ms"), (0.0, "0ms"), (1.0, "1s"), (1.2, "2s"),
                                               (360, "6m0s"), (3723, "1h2m3s")])
def test_reset_durations_read_like_openais_headers(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_priority_names_and_keys() -> None:
    assert [parse_priority(v) for v in ("critical", "HIGH", " normal ", "low", "batch", "2")] == [1, 2, 3, 4, 5, 2]
    assert priority_name(None) == "normal" and priority_name(5) == "batch"
    with pytest.raises(InvalidPriority, match="critical, high, normal, low, batch"):
        parse_priority("urgent")


def test_lower_priorities_get_smaller_shares_of_the_route_limit() -> None:
    o = OverloadConfig(max_in_flight=100, shares={"low": 0.4})
    caps = [o.capacity(k) for k in (1, 2, 3, 4, 5)]
    assert caps == [100, 90, 75, 40, 25]
    with pytest.raises(ValidationError, match="share of 'high'"):
        OverloadConfig(max_in_flight=10, shares={"high": 1.5})


def test_tenant_entries_override_the_default_tenant_limits_field_by_field() -> None:
    cfg = AdmissionConfig(per_tenant={"requests_per_min": 100, "tokens_per_min": 5000},
                          tenants={"acme": {"requests_per_min": 10, "tier": "high"}})
    assert cfg.tenant_limits("acme").requests_per_min == 10
    assert cfg.tenant_limits("acme").tokens_per_min == 5000
    assert cfg.tenant_limits("other").requests_per_min == 100
    assert cfg.tier("acme") == "high" and cfg.tier("other") is None


def test_aimd_backs_off_on_a_drop_or_a_slow_call_and_grows_only_when_used() -> None:
    s = ConcurrencySettings(mode="aimd", initial_limit=20, min_limit=2, max_limit=22, latency_tolerance=2.0,
                            baseline_window=10)
    st = AimdState(limit=20)
    st = update(st, s, in_flight=10, dropped=False, latency_ms=1000)  # used at half the limit: +1
    assert st.limit == 21 and st.baseline_ms == 1000
    assert update(st, s, in_flight=3, dropped=False, latency_ms=1000).limit == 21  # idle limit not raised
    assert update(st, s, in_flight=15, dropped=True, latency_ms=None).limit == pytest.approx(18.9)
    slow = update(st, s, in_flight=15, dropped=False, latency_ms=2500)  # > 2x the 1,000 ms baseline
    assert slow.limit == pytest.approx(18.9) and slow.baseline_ms == pytest.approx(1150)
    assert update(AimdState(limit=22), s, in_flight=22, dropped=False, latency_ms=900).limit == 22  # max
    assert update(AimdState(limit=2), s, in_flight=2, dropped=True, latency_ms=None).limit == 2  # min


def test_limits_admit_by_priority_share_and_always_one_call() -> None:
    assert admits(limit=4, in_flight=3, share=1.0) and not admits(limit=4, in_flight=4, share=1.0)
    assert not admits(limit=4, in_flight=1, share=0.25)
    assert admits(limit=2, in_flight=0, share=0.25)  # batch still gets one call at a time
    with pytest.raises(ValidationError, match="min_limit <= initial_limit"):
        ConcurrencySettings(min_limit=30, initial_limit=20)


def test_failover_budget_allows_a_share_of_requests_plus_a_floor() -> None:
    s = FailoverBudgetSettings(ratio=0.25, max_balance=2, floor_per_s=0)
    b = FailoverBudget()
    allowed = []
    for _ in range(8):
        b.on_request(s)
        allowed.append(b.try_failover(s, now=0.0))
    assert allowed == [False, False, False, True] * 2  # one failover per four requests
    for _ in range(20):
        b.on_request(s)
    assert b.balance == 2  # savings are capped
    floor = FailoverBudgetSettings(ratio=0.01, floor_per_s=1.0)
    fb = FailoverBudget()
    assert fb.try_failover(floor, now=100.0) and not fb.try_failover(floor, now=100.5)
    assert fb.try_failover(floor, now=101.5)  # one per second from the floor
