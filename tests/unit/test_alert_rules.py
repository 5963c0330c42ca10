"""The alert state machine: both windows over the threshold, minimum volume, the ``for`` duration
before firing, hysteresis, and the resolve duration (``core/alerts.py``)."""

from __future__ import annotations

from core.alerts import DEFAULT_RULES, AlertState, Signal, WindowStats, step

RULE = DEFAULT_RULES["error_rate"]  # > 5% fires, < 2% clears, for 30 s, resolve after 60 s, 20 calls


def sig(long_rate: float, short_rate: float, calls: int = 100) -> Signal:
    return Signal(long=WindowStats(calls=calls, failures=round(calls * long_rate)),
                  short=WindowStats(calls=calls // 5, failures=round(calls // 5 * short_rate)))


def run(signals: list[tuple[float, Signal]]) -> list[tuple[float, str]]:
    st, events = AlertState(rule="error_rate", subject="t"), []
    for now, s in signals:
        st, ev = step("error_rate", RULE, st, s, now)
        if ev:
            events.append((now, ev.status))
    return events


def test_fires_only_after_the_condition_held_for_its_duration() -> None:
    assert run([(t, sig(0.2, 0.2)) for t in range(0, 30, 10)]) == []
    assert run([(t, sig(0.2, 0.2)) for t in range(0, 40, 10)]) == [(30, "firing")]


def test_a_blip_shorter_than_the_duration_never_fires() -> None:
    seq = [(0, sig(0.2, 0.2)), (10, sig(0.2, 0.2)), (20, sig(0.01, 0.01)), (30, sig(0.2, 0.2)), (40, sig(0.01, 0.0))]
    assert run(seq) == []


def test_both_windows_must_be_over_the_threshold() -> None:
    assert run([(t, sig(0.2, 0.0)) for t in range(0, 100, 10)]) == []  # long only: already over
    assert run([(t, sig(0.01, 0.5)) for t in range(0, 100, 10)]) == []  # short only: a burst


def test_low_volume_never_fires() -> None:
    assert run([(t, sig(0.5, 0.5, calls=10)) for t in range(0, 100, 10)]) == []


def test_hysteresis_keeps_firing_between_clear_and_threshold_then_resolves_after_its_duration() -> None:
    seq = [(t, sig(0.2, 0.2)) for t in range(0, 40, 10)]
    seq += [(t, sig(0.04, 0.03)) for t in range(40, 200, 10)]  # under 5% but above the 2% clear level
    assert run(seq) == [(30, "firing")]
    seq += [(t, sig(0.01, 0.0)) for t in range(200, 300, 10)]
    assert run(seq) == [(30, "firing"), (260, "resolved")]


def test_a_relapse_while_clearing_keeps_one_alert() -> None:
    seq = [(t, sig(0.2, 0.2)) for t in range(0, 40, 10)] + [(40, sig(0.2, 0.0)), (50, sig(0.2, 0.3))]
    seq += [(t, sig(0.0, 0.0)) for t in range(60, 130, 10)]
    assert run(seq) == [(30, "firing"), (120, "resolved")]


def test_falling_rule_fires_when_the_hit_rate_drops_against_its_baseline() -> None:
    rule = DEFAULT_RULES["cache_hit_drop"]
    base = WindowStats(requests=500, cache_hits=200)
    bad = Signal(long=WindowStats(requests=100, cache_hits=10), short=WindowStats(requests=20, cache_hits=1),
                 baseline=base)
    good = Signal(long=WindowStats(requests=100, cache_hits=40), short=WindowStats(requests=20, cache_hits=8),
                  baseline=base)
    st, fired = AlertState(rule="cache_hit_drop", subject="r"), []
    for now, s in [(0, bad), (30, bad), (40, good), (100, good)]:
        st, ev = step("cache_hit_drop", rule, st, s, now)
        fired += [ev.status] if ev else []
    assert fired == ["firing", "resolved"]


def test_a_target_health_has_down_counts_as_over_the_threshold_until_it_recovers() -> None:
    down = Signal(long=WindowStats(), short=WindowStats(), down=True)  # no calls: planning skips it
    idle = Signal(long=WindowStats(), short=WindowStats())
    st, fired = AlertState(rule="error_rate", subject="t"), []
    for now, s in [(0, down), (30, down), (40, down), (50, idle), (120, idle)]:
        st, ev = step("error_rate", RULE, st, s, now)
        fired += [(now, ev.status)] if ev else []
    assert fired == [(30, "firing"), (120, "resolved")]
