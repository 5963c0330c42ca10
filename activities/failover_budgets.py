"""Live failover budgets per route of one worker process (``core/failover_budget.py``).

The attempt activity asks :meth:`FailoverBudgets.admit` before its first try: a request's first
attempt deposits, a failover after an overload-class failure withdraws; ``False`` means the
attempt must not be made (the activity then ends the request with ``FailoverBudgetExhausted``).
Temporal's same-target retries (``try_no > 1``) are not counted here: they have their own budget
(``core/health/budget.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.attempt import AttemptInput
from core.concurrency import DROP_CLASSES
from core.failover_budget import FailoverBudget, FailoverBudgetSettings


class FailoverBudgets:
    """Budgets per route (task type). ``settings``: read per call (config reload); ``clock``: unix s."""

    def __init__(self, settings: Callable[[], FailoverBudgetSettings], clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self._routes: dict[str, FailoverBudget] = {}

    def admit(self, inp: AttemptInput, try_no: int) -> bool:
        """Whether this attempt may run (see module docstring)."""
        s = self._settings()
        if s.ratio is None or try_no > 1:
            return True
        budget = self._routes.setdefault(inp.task_type, FailoverBudget())
        if inp.failover_after is None:
            if inp.rescue is None:
                budget.on_request(s)
            return True
        if inp.failover_after not in DROP_CLASSES:
            return True
        return budget.try_failover(s, self._clock())
