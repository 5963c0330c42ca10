"""Circuit breaker state machine on scripted outcome sequences and a fake clock (RESILIENCE.md R6,
Envoy/resilience4j testing pattern: explicit times, counters as the oracle)."""

from __future__ import annotations

from core.health.breaker import Breaker, BreakerState
from core.health.settings import HealthSettings
from core.health.signals import Kind, Observation

S = HealthSettings(open_jitter=0.0)


def call(b: Breaker, at: float, ok: bool = True, *, slow: bool = False, timeout: bool = False,
         probe: bool = False) -> str | None:
    obs = Observation(target="t", at=at, kind=Kind.OK if ok else Kind.FAILURE, timeout=timeout, probe=probe)
    return b.record(obs, slow, S, 0.5)


def test_five_consecutive_failures_open_four_do_not() -> None:
    b = Breaker()
    for i in range(4):
        assert call(b, i * 0.1, ok=False) is None
    assert b.state is BreakerState.CLOSED
    assert "5 consecutive failures" in call(b, 0.5, ok=False)
    assert b.state is BreakerState.OPEN and b.open_until == 0.5 + 30.0


def test_success_resets_the_consecutive_count() -> None:
    b = Breaker()
    for i in range(20):
        call(b, i, ok=(i % 4 == 3))  # 3 failures, 1 success, repeated: never 5 in a row, 75 % failures
    assert b.state is BreakerState.OPEN  # ... but the failure rate over >= 20 calls trips it
    assert "failure rate" in b.reason


def test_minimum_calls_not_reached_no_rate_trip() -> None:
    b = Breaker()
    for i in range(19):  # 19 < min_calls 20, every other call fails: 50 % but too few calls
        call(b, i * 0.5, ok=(i % 2 == 0))
    assert b.state is BreakerState.CLOSED
    call(b, 9.6, ok=False)  # 20th call: 10 failures of 20 = 50 %
    assert b.state is BreakerState.OPEN


def test_calls_older_than_the_window_do_not_count() -> None:
    b = Breaker()
    for i in range(15):
        call(b, float(i), ok=(i % 2 == 0))
    for i in range(10):  # 40 s later: the old calls left the 30 s window
        call(b, 60.0 + i, ok=True)
    assert b.state is BreakerState.CLOSED and b.window.totals(69.0, 30.0)[0] == 10


def test_slow_call_rate_opens() -> None:
    b = Breaker()
    for i in range(20):
        call(b, i * 0.1, slow=i % 2 == 0)
    assert b.state is BreakerState.OPEN and "slow-call rate" in b.reason


def test_three_consecutive_timeouts_open() -> None:
    b = Breaker()
    for i in range(3):
        call(b, i, ok=False, timeout=True)
    assert b.state is BreakerState.OPEN and "3 consecutive timeouts" in b.reason


def _open(b: Breaker, at: float = 0.0) -> None:
    for i in range(5):
        call(b, at + i * 0.01, ok=False)
    assert b.state is BreakerState.OPEN


def test_open_wait_then_half_open_then_closed_after_four_of_five() -> None:
    b = Breaker()
    _open(b)
    assert b.tick(29.9, S) is None and b.state is BreakerState.OPEN  # Envoy-style: not before the wait
    assert "half-open" in b.tick(30.1, S)
    assert b.share_cap(S) == S.half_open_share
    for i, ok in enumerate([True, False, True, True]):
        assert call(b, 31 + i, ok=ok) is None
    assert "closed: 4 of 5" in call(b, 35, ok=True)
    assert b.state is BreakerState.CLOSED and b.opens == 0


def test_half_open_probe_fails_reopens_with_doubled_wait() -> None:
    b = Breaker()
    _open(b)
    b.tick(30.1, S)
    call(b, 31, ok=False)
    assert b.state is BreakerState.HALF_OPEN  # one failure: 4 of 5 still possible
    note = call(b, 32, ok=False)  # two failures: 4 of 5 impossible
    assert b.state is BreakerState.OPEN and note.startswith("open for 60 s")
    assert b.open_until == 92.0 and b.relapses == 0  # still the same outage, not a relapse


def test_wait_is_capped_and_jittered() -> None:
    b = Breaker(opens=10)
    note = b._open(0.0, "x", S, 0.5)
    assert note.startswith("open for 300 s")
    jittered = HealthSettings(open_jitter=0.1)
    lo, hi = Breaker(), Breaker()
    lo._open(0.0, "x", jittered, 0.0)
    hi._open(0.0, "x", jittered, 0.999999)
    assert abs(lo.open_until - 27.0) < 1e-6 and abs(hi.open_until - 33.0) < 1e-3


def test_probe_streak_ends_open_early_and_a_failure_resets_it() -> None:
    b = Breaker()
    _open(b)
    call(b, 1.0, probe=True)
    call(b, 2.0, probe=True)
    call(b, 3.0, ok=False, probe=True)  # streak broken
    for t in (4.0, 6.0, 8.0):
        call(b, t, probe=True)
    assert b.tick(8.5, S) is None  # 3 successes but only 4.5 s since the streak began (dwell 5 s)
    assert "3 successes" in b.tick(9.0, S)
    assert b.state is BreakerState.HALF_OPEN


def test_relapse_after_close_lengthens_wait_and_probe_dwell() -> None:
    b = Breaker()
    _open(b)
    b.tick(30.1, S)
    for i in range(5):
        call(b, 31 + i)
    assert b.state is BreakerState.CLOSED
    _open(b, 40.0)  # fails again 5 s after closing: a relapse
    assert b.relapses == 1 and abs(b.open_until - (40.04 + 60.0)) < 1e-6
    for t in (41.0, 43.0, 45.0, 47.0):
        call(b, t, probe=True)
    assert b.tick(48.0, S) is None  # dwell is 5 s x 2^1 = 10 s now
    assert b.tick(51.5, S) is not None


def test_idle_half_open_goes_back_to_open() -> None:
    b = Breaker()
    _open(b)
    b.tick(30.1, S)
    assert b.tick(89.0, S) is None
    assert "no half-open trial" in b.tick(90.2, S) and b.state is BreakerState.OPEN


def test_capacity_and_ignored_outcomes_never_count() -> None:
    b = Breaker()
    for i in range(30):
        kind = Kind.CAPACITY if i % 2 else Kind.IGNORED
        assert b.record(Observation(target="t", at=i * 0.1, kind=kind), False, S, 0.5) is None
    assert b.state is BreakerState.CLOSED and b.window.totals(3.0, 30.0)[0] == 0
