"""Error classes of a provider attempt and the one policy each class follows.

The attempt activity classifies every failure once, at the activity edge (``core/classify.py``
reads status, headers and body), and raises a Temporal ``ApplicationError`` whose ``type`` is the
class's value. The workflow decides what to do next from that ``type`` alone, through
:data:`POLICIES`. The table follows ``shared/providers.md`` section 5 (row numbers in comments).

Tree of outcomes (one action per class)::

    retry same target, then fail over ... ConnectError, ServerError, Overloaded, RateLimited,
                                          MalformedResponse
    fail over (no retry) ................ Timeout, StreamCut, RequestTooLargeForTarget,
                                          QuotaExhausted, AuthError, PermissionDenied,
                                          ModelNotFound, TranslationRejected, UnsupportedInput
    fail over to a larger context ....... ContextLengthExceeded
    fail over to content-policy fallback  ContentFiltered (else returned to the caller)
    return to the caller unchanged ...... InvalidRequest, LocalInvalidRequest, PayloadTooLarge,
                                          CallerDeadline

Pure data: importable inside workflows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    """Stable names, used as ``ApplicationError.type`` and stored in outcome rows."""

    CONNECT = "ConnectError"                    # row 1: refused, DNS, TLS, reset before a response
    TIMEOUT = "Timeout"                         # row 2: the target's own timeout fired
    STREAM_CUT = "StreamCut"                    # row 3: stream ended without its final event
    SERVER_ERROR = "ServerError"                # rows 5, 10, 11: 408/409, 500/502/504, self-hosted 503
    OVERLOADED = "Overloaded"                   # row 8: 529, 503 overloaded
    RATE_LIMITED = "RateLimited"                # row 6: transient 429
    TOO_LARGE_FOR_TARGET = "RequestTooLargeForTarget"  # row 7: 429 "Request too large"
    QUOTA_EXHAUSTED = "QuotaExhausted"          # row 9: insufficient_quota, PerDay, credit balance
    AUTH = "AuthError"                          # row 16: 401, Gemini API_KEY_INVALID
    PERMISSION = "PermissionDenied"             # row 17: 403
    MODEL_NOT_FOUND = "ModelNotFound"           # row 18: 404
    CONTEXT_LENGTH = "ContextLengthExceeded"    # row 12
    CONTENT_FILTER = "ContentFiltered"          # rows 20, 21
    INVALID_REQUEST = "InvalidRequest"          # row 14: the caller's own malformed request
    TRANSLATION_REJECTED = "TranslationRejected"  # row 15: a translated target rejected our translation
    LOCAL_INVALID = "LocalInvalidRequest"       # failed before any network call (e.g. bad tool JSON)
    UNSUPPORTED_INPUT = "UnsupportedInput"      # this target cannot take part of the input (e.g. a GIF for
                                                # Gemini); checked before any network call, another may
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"       # row 19: 413
    MALFORMED_RESPONSE = "MalformedResponse"    # row 22: unparseable body, 200 with nothing usable
    CALLER_DEADLINE = "CallerDeadline"          # the caller's own deadline expired
    CALLER_CANCELLED = "CallerCancelled"        # the caller went away (a streaming client disconnected)
    FAILOVER_BUDGET = "FailoverBudgetExhausted"  # overload failovers above the route's budget: stop, do
                                                # not multiply traffic (core/failover_budget.py)


class Action(StrEnum):
    """What the workflow does after an attempt failed with a class (after same-target retries)."""

    FAIL_OVER = "fail_over"
    FAIL_OVER_LARGER_CONTEXT = "fail_over_larger_context"
    FAIL_OVER_CONTENT_POLICY = "fail_over_content_policy"
    RETURN_TO_CALLER = "return_to_caller"


@dataclass(frozen=True)
class Policy:
    """The policy of one error class.

    ``retry_same_target``: Temporal may retry the attempt on the same target (bounded by the
    route's ``retries``, honouring a short Retry-After). ``counts_against_health``: the failure is
    evidence that the *target* is unwell (caller errors and capacity signals are not; see
    RESILIENCE.md R1, R6.4). ``cooldown_s``: default time the target is skipped by planning after
    this failure (``None``: no cooldown; a Retry-After overrides it). ``alert``: operators should
    be told (bad key, retired model, adapter bug).
    """

    action: Action
    retry_same_target: bool
    counts_against_health: bool
    cooldown_s: float | None = None
    alert: bool = False


_F = Action.FAIL_OVER
POLICIES: dict[ErrorClass, Policy] = {
    ErrorClass.CONNECT: Policy(_F, True, True),
    ErrorClass.TIMEOUT: Policy(_F, False, True),
    ErrorClass.STREAM_CUT: Policy(_F, False, True),
    ErrorClass.SERVER_ERROR: Policy(_F, True, True, cooldown_s=None),
    ErrorClass.OVERLOADED: Policy(_F, True, True, cooldown_s=None),
    ErrorClass.RATE_LIMITED: Policy(_F, True, False, cooldown_s=5.0),
    ErrorClass.TOO_LARGE_FOR_TARGET: Policy(_F, False, False),
    ErrorClass.QUOTA_EXHAUSTED: Policy(_F, False, True, cooldown_s=3600.0, alert=True),
    ErrorClass.AUTH: Policy(_F, False, True, cooldown_s=600.0, alert=True),
    ErrorClass.PERMISSION: Policy(_F, False, True, cooldown_s=600.0, alert=True),
    ErrorClass.MODEL_NOT_FOUND: Policy(_F, False, True, cooldown_s=3600.0, alert=True),
    ErrorClass.CONTEXT_LENGTH: Policy(Action.FAIL_OVER_LARGER_CONTEXT, False, False),
    ErrorClass.CONTENT_FILTER: Policy(Action.FAIL_OVER_CONTENT_POLICY, False, False),
    ErrorClass.INVALID_REQUEST: Policy(Action.RETURN_TO_CALLER, False, False),
    ErrorClass.TRANSLATION_REJECTED: Policy(_F, False, False, alert=True),
    ErrorClass.LOCAL_INVALID: Policy(Action.RETURN_TO_CALLER, False, False),
    ErrorClass.UNSUPPORTED_INPUT: Policy(_F, False, False),
    ErrorClass.PAYLOAD_TOO_LARGE: Policy(Action.RETURN_TO_CALLER, False, False),
    ErrorClass.MALFORMED_RESPONSE: Policy(_F, True, True),
    ErrorClass.CALLER_DEADLINE: Policy(Action.RETURN_TO_CALLER, False, False),
    ErrorClass.CALLER_CANCELLED: Policy(Action.RETURN_TO_CALLER, False, False),
    ErrorClass.FAILOVER_BUDGET: Policy(Action.RETURN_TO_CALLER, False, False),
}


def policy(error_type: str | None) -> Policy:
    """The policy for an ``ApplicationError.type``; unknown types fail over (the safe default)."""
    try:
        return POLICIES[ErrorClass(error_type)]
    except ValueError:
        return Policy(_F, False, True)


def non_retryable_types() -> list[str]:
    """Error types Temporal must never retry on the same target (for ``RetryPolicy``)."""
    return [c.value for c, p in POLICIES.items() if not p.retry_same_target]


#: OpenAI-style HTTP status the caller sees for a class when it is returned to them.
CALLER_STATUS: dict[ErrorClass, int] = {
    ErrorClass.INVALID_REQUEST: 400,
    ErrorClass.LOCAL_INVALID: 400,
    ErrorClass.UNSUPPORTED_INPUT: 400,
    ErrorClass.CONTEXT_LENGTH: 400,
    ErrorClass.CONTENT_FILTER: 400,
    ErrorClass.PAYLOAD_TOO_LARGE: 413,
    ErrorClass.RATE_LIMITED: 429,
    ErrorClass.CALLER_DEADLINE: 504,
    ErrorClass.CALLER_CANCELLED: 499,  # nginx's "client closed request": nobody reads the answer
    ErrorClass.FAILOVER_BUDGET: 503,  # we are overloaded: the SDKs retry 503 after Retry-After
}
