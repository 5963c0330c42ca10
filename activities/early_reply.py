"""Early replies: the gateway answers from the attempt's result as soon as it exists, durably.

Without this, the gateway replies after the workflow closed: the attempt's local-activity result
goes back to the workflow, the workflow builds its result, the workflow task completion is
written by the server, and the result long-poll wakes (~10 ms on the 2-core dev box,
``docs/PERFORMANCE.md``). With it, a gateway handler that starts a workflow in this process
:meth:`EarlyReplies.expect` s its first attempt; the attempt activity (same process, same event
loop: eager start runs the first workflow task here) writes its outcome row **and** the whole
:class:`core.attempt.AttemptResult` (the *answer journal*, a payload row keyed by workflow id, run
id, seq and try: ``OutcomeStore.record(row, journal=...)``) in one database transaction, then
:meth:`EarlyReplies.offer` s the result; the handler replies while the workflow finishes its bookkeeping.

What is durable when: before the reply, the plan (the workflow's input, in history) and the
outcome row + journaled answer (SQL); about 10 ms after it, the attempt's marker, the search
attributes and the close event (history). If the process dies in between, the workflow task times
out and runs again on another worker; that first attempt then has ``recovering`` set (its workflow
task is not the first) and returns the journaled answer without calling the provider, so history
records exactly the answer the caller received and the outcome row stays the one written.

Only a first attempt's first try answers early (``seq == 1``, ``try_no == 1``: no failover or
retry, so the gateway can build the routing trace from the plan alone), and only a whole
(not streamed) answer small enough to stay inline. Everything else waits for the workflow.
"""

from __future__ import annotations

import asyncio

from core.attempt import AttemptResult


class EarlyReplies:
    """Handlers waiting for their workflow's first attempt, by workflow id (this process only)."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[AttemptResult | None]] = {}

    def expect(self, workflow_id: str) -> asyncio.Future[AttemptResult | None]:
        """A future resolved when the workflow's first try ends here: with its result if it answers
        early, with ``None`` if it does not (it failed, was refused or cancelled); pair with :meth:`discard`."""
        fut: asyncio.Future[AttemptResult | None] = asyncio.get_running_loop().create_future()
        self._waiting[workflow_id] = fut
        return fut

    def discard(self, workflow_id: str) -> None:
        """Stop waiting (the handler has its answer, or the workflow's)."""
        self._waiting.pop(workflow_id, None)

    def wants(self, workflow_id: str, seq: int, try_no: int) -> bool:
        """True when a handler here waits for this attempt (its workflow's first call)."""
        return seq == 1 and try_no == 1 and workflow_id in self._waiting

    def offer(self, workflow_id: str, result: AttemptResult) -> None:
        """Hand ``result`` to the waiting handler (the journal is written already)."""
        fut = self._waiting.pop(workflow_id, None)
        if fut is not None and not fut.done():
            fut.set_result(result)

    def decline(self, workflow_id: str, seq: int, try_no: int) -> None:
        """The first try ended without an early answer (or had one offered already): resolve a
        still-waiting handler with ``None``, so it waits for the workflow's result instead."""
        if seq == 1 and try_no == 1:
            fut = self._waiting.pop(workflow_id, None)
            if fut is not None and not fut.done():
                fut.set_result(None)
