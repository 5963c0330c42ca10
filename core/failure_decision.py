"""What a failed try leads to: retry on the same target (after how long), and a cooldown.

Pure (no I/O, the clock passed in), so the attempt activity (``activities/attempt.py``) applies it
and tests can read it off. The rules, from the error class's policy (``core/errors.py``
:data:`POLICIES`) and the provider's own hints (``core/retry_hints.py``; RESILIENCE.md R7.2):

- a ``Timeout`` on a call whose caller's budget was shorter than the target's timeout is the
  caller's deadline (``CallerDeadline``), not the target's fault;
- retry on the same target when the policy allows it, tries remain, the provider did not say
  ``x-should-retry: false`` and the target's retry budget allows it (asked last, and only then:
  asking spends a token);
- a Retry-After up to the route's wait budget is the retry's delay; a longer one cancels the retry
  and cools the target down until then (so the workflow fails over at once); without a retry any
  Retry-After above 0 cools the target down;
- with no cooldown from a hint and no retry, the policy's default cooldown applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.errors import POLICIES, ErrorClass


@dataclass(frozen=True)
class FailureDecision:
    """``error_class`` as recorded; ``retry`` on the same target after ``delay_s`` seconds
    (``None``: Temporal's backoff); ``cooldown_until``: unix seconds, or ``None``."""

    error_class: ErrorClass
    retry: bool
    delay_s: float | None
    cooldown_until: float | None


def decide(error_class: ErrorClass, *, retry_after_s: float | None, should_retry: bool | None, try_no: int,
           max_tries: int, max_retry_wait_s: float, retry_budget: Callable[[], bool], caller_budget_short: bool,
           now: float) -> FailureDecision:
    """The decision for one failed try (module rules); ``retry_budget()``: whether the target's
    retry budget allows one more retry (spends a token when it does); ``caller_budget_short``: the
    caller's budget (s) was below the target's timeout; ``now``: unix seconds."""
    cls = ErrorClass.CALLER_DEADLINE if error_class is ErrorClass.TIMEOUT and caller_budget_short else error_class
    pol = POLICIES[cls]
    retry = pol.retry_same_target and try_no < max_tries and should_retry is not False and retry_budget()
    delay, cooldown_until = None, None
    if retry_after_s is not None and retry:
        if retry_after_s <= max_retry_wait_s:
            delay = retry_after_s
        else:
            retry, cooldown_until = False, now + retry_after_s
    elif retry_after_s is not None and retry_after_s > 0:
        cooldown_until = now + retry_after_s
    if cooldown_until is None and not retry and pol.cooldown_s:
        cooldown_until = now + pol.cooldown_s
    return FailureDecision(cls, retry, delay, cooldown_until)
