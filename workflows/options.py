"""Scheduling options for the request workflow's activities, in one documented place (STYLE.md).

Sources of the numbers: same-target backoff 0.5 s doubling to 8 s (the OpenAI and Anthropic
SDKs' formula, ``shared/providers.md`` section 5 "Global rules"); planning must be fast and is
retried briefly (it only reads the config and the cooldown cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

from core.errors import ErrorClass, non_retryable_types
from core.plan import PlanEntry

#: Grace added to an attempt's start-to-close timeout: the activity enforces the target's own
#: timeout itself (and classifies it), Temporal's timeout is only the backstop.
TIMEOUT_GRACE_S = 2.0
#: Do not start an attempt with less than this left of the caller's deadline (seconds).
MIN_ATTEMPT_BUDGET_S = 0.25


@dataclass(frozen=True)
class ActivityOptions:
    """Timeouts and retry policy of the planning and attempt activities."""

    plan_timeout: timedelta = timedelta(seconds=10)
    plan_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        maximum_attempts=3, initial_interval=timedelta(milliseconds=100),
        non_retryable_error_types=[ErrorClass.INVALID_REQUEST.value]))
    backoff_initial: timedelta = timedelta(milliseconds=500)
    backoff_max: timedelta = timedelta(seconds=8)

    def attempt(self, entry: PlanEntry, tries: int, remaining_s: float) -> dict[str, Any]:
        """Keyword arguments for ``execute_local_activity``/``execute_activity`` of one attempt.

        ``tries``: 1 + the route's retries. ``remaining_s``: what is left of the caller's deadline,
        which bounds the attempt and all its retries (``schedule_to_close_timeout``)."""
        return {
            "start_to_close_timeout": timedelta(seconds=entry.timeout_s + TIMEOUT_GRACE_S),
            "schedule_to_close_timeout": timedelta(seconds=remaining_s + TIMEOUT_GRACE_S),
            "retry_policy": RetryPolicy(initial_interval=self.backoff_initial, backoff_coefficient=2.0,
                                        maximum_interval=self.backoff_max, maximum_attempts=tries,
                                        non_retryable_error_types=non_retryable_types()),
        }


DEFAULT_OPTIONS = ActivityOptions()


@dataclass(frozen=True)
class StoreOptions:
    """Timeout and retry policy of bookkeeping activities that only touch the database (conversation
    transcript, status, resume, target health): a database blip is retried for up to ``timeout``,
    backing off from 0.2 s to 5 s; an ``InvalidRequest`` (a missing claim-checked payload) is not."""

    timeout: timedelta = timedelta(seconds=30)
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=5),
        non_retryable_error_types=[ErrorClass.INVALID_REQUEST.value]))


STORE_OPTIONS = StoreOptions()


@dataclass(frozen=True)
class LearningOptions:
    """Timeouts and retry policy of the learning workflow's activities (``workflows/learning.py``).

    ``gather`` runs SQL aggregates over the learning window (seconds on a large outcomes table),
    ``write`` a few inserts per task type; a database blip is retried with backoff from 1 s to
    30 s within the timeout; an unknown task type (``InvalidRequest``) is not retried.
    """

    gather_timeout: timedelta = timedelta(minutes=5)
    write_timeout: timedelta = timedelta(minutes=1)
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30),
        non_retryable_error_types=[ErrorClass.INVALID_REQUEST.value]))


LEARNING_OPTIONS = LearningOptions()


@dataclass(frozen=True)
class DrillOptions:
    """Scheduling of the drill workflow's activities (``workflows/drill.py``): database reads and
    writes like ``StoreOptions``, but given up after ``give_up`` (2 min), so a drill whose
    database is broken fails (and ``switchyard drill`` exits non-zero) instead of waiting forever."""

    timeout: timedelta = timedelta(seconds=30)
    give_up: timedelta = timedelta(minutes=2)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``execute_activity``."""
        return {"start_to_close_timeout": self.timeout, "schedule_to_close_timeout": self.give_up,
                "retry_policy": STORE_OPTIONS.retry}


DRILL_OPTIONS = DrillOptions()
