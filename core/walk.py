"""Walking a plan: which target comes next after a failure, and when the walk stops.

Pure and deterministic (used inside ``AIRequestWorkflow``; unit-tested without Temporal). The
decision after each failed attempt follows the failure class's :class:`core.errors.Policy`:

- ``fail_over``: next target of the plan;
- ``fail_over_larger_context``: only targets whose context window is larger than the one that
  overflowed stay in the queue; none left -> ``ContextLengthExceeded`` to the caller;
- ``fail_over_content_policy``: switch to the route's content-policy fallback targets if it has
  any (once); otherwise ``ContentFiltered`` to the caller;
- ``return_to_caller``: stop with the caller's own error.

A target is never visited twice in one request. When the queue runs dry, :meth:`ChainWalk.exhausted`
builds the caller's error: a 429-class ``RateLimited`` with Retry-After at the earliest cooldown
end when every failure was a rate limit, a 400 ``UnsupportedInput`` when no target could take the
input (e.g. an image format) or planning skipped every target for the request itself (a
``ContextLengthExceeded`` 400 when no context window fits the prompt plus max tokens), else
``AllTargetsFailed`` (503) naming each attempt.
"""

from __future__ import annotations

from pydantic import BaseModel

from core.attempt import AttemptFailure
from core.errors import CALLER_STATUS, Action, ErrorClass, policy
from core.plan import SKIP_CONTEXT, SKIP_COOLDOWN, Plan, PlanEntry

ALL_TARGETS_FAILED = "AllTargetsFailed"
#: Retry-After (s) suggested to the caller when every target failed and no cooldown says better.
DEFAULT_RETRY_AFTER_S = 5.0


class Stop(BaseModel):
    """Why the walk ended without an answer: the caller's error class, HTTP status, message and,
    for capacity errors, the Retry-After in seconds."""

    error_class: str
    status: int
    message: str
    retry_after_s: float | None = None


class ChainWalk:
    """Iterate a plan's targets, applying each failure's policy (see module docstring)."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._queue: list[PlanEntry] = list(plan.entries)
        self._visited: set[str] = set()
        self._failures: list[AttemptFailure] = []
        self._used_content_fallback = False
        self.notes: list[str] = []

    @property
    def failures(self) -> list[AttemptFailure]:
        return list(self._failures)

    def next(self) -> PlanEntry | None:
        """The next unvisited target, or ``None`` when the queue is empty."""
        while self._queue:
            entry = self._queue.pop(0)
            if entry.target not in self._visited:
                self._visited.add(entry.target)
                return entry
        return None

    def fail(self, entry: PlanEntry, failure: AttemptFailure) -> Stop | None:
        """Record a failed attempt of ``entry``; returns a :class:`Stop` if the walk must end."""
        self._failures.append(failure)
        pol = policy(failure.error_class)
        if pol.action is Action.RETURN_TO_CALLER:
            cls = ErrorClass(failure.error_class) if failure.error_class in ErrorClass._value2member_map_ else None
            return Stop(error_class=failure.error_class, status=CALLER_STATUS.get(cls, 400) if cls else 400,
                        message=failure.message or failure.error_class)
        if pol.action is Action.FAIL_OVER_LARGER_CONTEXT:
            return self._larger_context_only(entry, failure)
        if pol.action is Action.FAIL_OVER_CONTENT_POLICY:
            return self._content_policy_fallback(failure)
        return None

    def _larger_context_only(self, entry: PlanEntry, failure: AttemptFailure) -> Stop | None:
        before = len(self._queue)
        self._queue = [e for e in self._queue if e.context_window > entry.context_window]
        self.notes.append(f"context length exceeded on {entry.target} ({entry.context_window} tokens): "
                          f"{before - len(self._queue)} smaller-window target(s) dropped")
        if not any(e.target not in self._visited for e in self._queue):
            return Stop(error_class=ErrorClass.CONTEXT_LENGTH.value, status=400,
                        message=failure.message or "context length exceeded and no larger-context target")
        return None

    def _content_policy_fallback(self, failure: AttemptFailure) -> Stop | None:
        fallback = [e for e in self._plan.content_policy_entries if e.target not in self._visited]
        if self._used_content_fallback or not fallback:
            return Stop(error_class=ErrorClass.CONTENT_FILTER.value, status=400,
                        message=failure.message or "the request was refused by the provider's content policy")
        self._used_content_fallback = True
        self._queue = fallback
        self.notes.append(f"content filtered on {failure.target}: trying the route's content-policy fallback")
        return None

    def deadline(self) -> Stop:
        """The caller's deadline is too close to start another attempt."""
        tried = "; ".join(_describe(f) for f in self._failures) or "no target was tried"
        return Stop(error_class=ErrorClass.CALLER_DEADLINE.value, status=504,
                    message=f"deadline exceeded before any target answered: {tried}")

    def exhausted(self, now: float) -> Stop:
        """Every target failed (or none was planned). ``now``: unix seconds, for Retry-After."""
        if not self._failures:
            skipped = "; ".join(f"{t}: {why}" for t, why in self._plan.skipped.items())
            unfit = _unfit_class(self._plan.skipped)
            if unfit is not None:
                return Stop(error_class=unfit.value, status=400,
                            message=f"no target of the chain can take this request: {skipped}")
            return Stop(error_class=ALL_TARGETS_FAILED, status=503, retry_after_s=DEFAULT_RETRY_AFTER_S,
                        message="no target can serve this request" + (f" ({skipped})" if skipped else ""))
        ends = [f.cooldown_until for f in self._failures if f.cooldown_until]
        ends += [t for t in self._plan.cooldown_ends.values() if t > now]
        retry_after = max(1.0, min(ends) - now) if ends else DEFAULT_RETRY_AFTER_S
        listing = "; ".join(_describe(f) for f in self._failures)
        if all(f.error_class == ErrorClass.RATE_LIMITED.value for f in self._failures):
            return Stop(error_class=ErrorClass.RATE_LIMITED.value, status=429, retry_after_s=retry_after,
                        message=f"every target is rate limited: {listing}")
        if all(f.error_class == ErrorClass.UNSUPPORTED_INPUT.value for f in self._failures):
            return Stop(error_class=ErrorClass.UNSUPPORTED_INPUT.value, status=400,
                        message=f"no target of the chain accepts this input: {listing}")
        return Stop(error_class=ALL_TARGETS_FAILED, status=503, retry_after_s=retry_after,
                    message=f"every target failed: {listing}")


def _unfit_class(skipped: dict[str, str]) -> ErrorClass | None:
    """The caller's error when planning skipped every target for the request itself (``core.plan``'s
    unfit reasons): a context window too small -> ``ContextLengthExceeded`` (OpenAI answers such a
    request with a 400 ``context_length_exceeded``), a missing capability -> ``UnsupportedInput``.
    ``None`` when some target was skipped for its own state (a cooldown): retrying may then help."""
    if not skipped or any(why.startswith(SKIP_COOLDOWN) for why in skipped.values()):
        return None
    if any(why.startswith(SKIP_CONTEXT) for why in skipped.values()):
        return ErrorClass.CONTEXT_LENGTH
    return ErrorClass.UNSUPPORTED_INPUT


def _describe(f: AttemptFailure) -> str:
    status = f" {f.status}" if f.status else ""
    tries = f" after {f.try_no} tries" if f.try_no > 1 else ""
    return f"{f.target}: {f.error_class}{status}{tries} ({f.message[:120]})"
