"""The retry and cooldown decision of a failed try (``core/failure_decision.py``)."""

from __future__ import annotations

from typing import Any

from core.errors import ErrorClass
from core.failure_decision import FailureDecision, decide

NOW = 1_000.0


def _decide(cls: ErrorClass, **kw: Any) -> FailureDecision:
    args: dict[str, Any] = {"retry_after_s": None, "should_retry": None, "try_no": 1, "max_tries": 3,
                            "max_retry_wait_s": 10.0, "retry_budget": lambda: True, "caller_budget_short": False,
                            "now": NOW} | kw
    return decide(cls, **args)


def test_a_short_retry_after_is_the_retry_delay() -> None:
    assert _decide(ErrorClass.RATE_LIMITED, retry_after_s=2.0) == FailureDecision(ErrorClass.RATE_LIMITED, True,
                                                                                   2.0, None)


def test_a_long_retry_after_cools_the_target_down_and_fails_over() -> None:
    assert _decide(ErrorClass.RATE_LIMITED, retry_after_s=60.0) == FailureDecision(ErrorClass.RATE_LIMITED, False,
                                                                                    None, NOW + 60.0)


def test_no_retry_left_gives_the_policy_cooldown() -> None:
    got = _decide(ErrorClass.RATE_LIMITED, try_no=3)
    assert got == FailureDecision(ErrorClass.RATE_LIMITED, False, None, NOW + 5.0)


def test_the_provider_or_the_retry_budget_can_forbid_a_retry() -> None:
    assert not _decide(ErrorClass.SERVER_ERROR, should_retry=False).retry
    assert not _decide(ErrorClass.SERVER_ERROR, retry_budget=lambda: False).retry
    assert _decide(ErrorClass.SERVER_ERROR).retry


def test_the_retry_budget_is_asked_only_when_a_retry_is_otherwise_allowed() -> None:
    asked: list[bool] = []

    def budget() -> bool:
        asked.append(True)
        return True
    _decide(ErrorClass.SERVER_ERROR, try_no=3, retry_budget=budget)  # no tries left
    _decide(ErrorClass.TIMEOUT, retry_budget=budget)  # the policy never retries a timeout
    _decide(ErrorClass.SERVER_ERROR, should_retry=False, retry_budget=budget)
    assert asked == []
    assert _decide(ErrorClass.SERVER_ERROR, retry_budget=budget).retry and asked == [True]


def test_a_timeout_within_a_short_caller_budget_is_the_callers_deadline() -> None:
    assert _decide(ErrorClass.TIMEOUT, caller_budget_short=True).error_class is ErrorClass.CALLER_DEADLINE
    assert _decide(ErrorClass.TIMEOUT).error_class is ErrorClass.TIMEOUT


def test_a_retry_after_without_a_retry_still_cools_down() -> None:
    assert _decide(ErrorClass.AUTH, retry_after_s=30.0).cooldown_until == NOW + 30.0
    assert _decide(ErrorClass.AUTH).cooldown_until == NOW + 600.0
    assert _decide(ErrorClass.CONNECT, try_no=3).cooldown_until is None
