"""``ConversationWorkflow``: one long-running conversation, pinned to the target that first answered.

Entity workflow (STYLE.md; ``shared/TEMPORAL.md`` 2.1-2.4, recommendations 6-8), id
``conv-<tenant>-<conversation id>``, reached with update-with-start (``USE_EXISTING``):

- update ``turn`` (:class:`core.conversation.TurnInput` -> :class:`core.conversation.TurnResult`):
  one turn, carrying only its new messages. A validator rejects malformed and late turns before
  they reach history; an ``asyncio.Lock`` runs turns one at a time, in arrival order, even when a
  client sends several at once. Each turn plans with the pin first and walks the chain with the
  request path's own loop (``workflows/chain.py``); its attempt activity prepends the stored
  transcript, so a failover sends the next target the whole history in its own protocol.
- update ``close`` (:class:`core.conversation.CloseInput`) ends it for good; query ``view``
  returns the recent transcript and the pin history. After ``idle_timeout_s`` without a turn the
  workflow completes; the next turn starts a new execution that resumes from the database.
- Pin moves (:mod:`core.pinning`) are in the turn's result and trace, in the ``view`` query, in the
  transcript rows, and in history as a ``PinnedModel`` search-attribute upsert (plus current details).
- Continue-as-new from ``run`` only, after ``all_handlers_finished``, when Temporal suggests it or
  after ``max_turns_per_run`` turns; the small :class:`core.conversation.ConversationState` (pin,
  pin history, transcript cursor, attempt numbering, recent window) is the new run's argument.

Why plan + attempts as local activities inside the update handler rather than a child
``AIRequestWorkflow`` per turn: a turn on a cached conversation costs ~13 ms of Temporal overhead
this way (update + local activity in one workflow task, ``shared/TEMPORAL.md`` section 0), while a
child workflow adds a start, its own workflow tasks and a completion event round trip, and a second
history per turn that would carry the whole conversation as input. ``bench/conversation.py``
measured the child-workflow design at 1.8-2.3x the added p50 latency of this one on the 2-core dev
box. The loop is shared code (``workflows/chain.py``), so nothing is duplicated; the price is that
local activities re-run if a worker dies mid-task (that turn's provider call may be paid twice;
only the recorded answer counts).

Deterministic: time from ``workflow.time()``; I/O only through activities.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from core import pinning
    from core import search_attributes as sa
    from core.attempt import AttemptInput, AttemptResult, Partial
    from core.chat import ChatMessage, ChatRequest
    from core.conversation import (
        SEEN_UPDATES_KEPT,
        STORAGE_UNAVAILABLE,
        TAIL_CHARS,
        CloseInput,
        ConversationInput,
        ConversationState,
        ConversationView,
        PinMove,
        TranscriptEntry,
        TurnInput,
        TurnResult,
    )
    from core.conversation_io import (
        HealthInput,
        HealthResult,
        MarkInput,
        RecordTurnInput,
        RecordTurnResult,
        ResumeInput,
        ResumeResult,
        TurnAttemptInput,
        assistant_message,
    )
    from core.errors import ErrorClass
    from core.names import (
        CONVERSATION_ATTEMPT_ACTIVITY,
        CONVERSATION_CLOSE_UPDATE,
        CONVERSATION_HEALTH_ACTIVITY,
        CONVERSATION_MARK_ACTIVITY,
        CONVERSATION_RECORD_ACTIVITY,
        CONVERSATION_RESUME_ACTIVITY,
        CONVERSATION_TURN_UPDATE,
        CONVERSATION_VIEW_QUERY,
        CONVERSATION_WORKFLOW,
    )
    from core.plan import Plan, PlanEntry
    from core.request import RequestFailure, RequestInput, RoutingTrace
    from core.tokens import estimate_prompt_tokens
    from workflows.chain import PlanRejected, finish_trace, make_plan, plan_input, walk_plan
    from workflows.conversation_checks import check_turn, closed_error, order_error
    from workflows.options import DEFAULT_OPTIONS, STORE_OPTIONS

#: Placeholder new message of a turn whose request was claim-checked (the activity loads the real one).
_STORED = ChatMessage(role="user", content="(stored request)")


@workflow.defn(name=CONVERSATION_WORKFLOW)
class ConversationWorkflow:
    """Input :class:`core.conversation.ConversationInput`; result :class:`core.conversation.ConversationView`
    (status ``closed`` or ``idle``). See the module docstring for updates, query and lifecycle."""

    @workflow.init
    def __init__(self, inp: ConversationInput) -> None:
        self._id = inp.conversation_id
        self._cfg = inp.config
        self._st = inp.state.model_copy(deep=True) if inp.state else ConversationState()
        if self._st.last_active_at is None:
            self._st.last_active_at = workflow.time()
        self._lock = asyncio.Lock()
        self._running = 0  # update handlers started and not finished
        self._ticks = 0  # bumped by every finished handler: restarts the idle wait
        self._turns_this_run = 0
        self._close_requested = False

    @workflow.run
    async def run(self, inp: ConversationInput) -> ConversationView:
        while True:
            if self._running:
                await workflow.wait_condition(lambda: not self._running)
                continue
            if self._st.status == "closed" or self._can_due():
                break
            left = self._idle_deadline() - workflow.time()
            if left <= 0:
                self._st.status = "idle"
                break
            try:
                await workflow.wait_condition(lambda t=self._ticks: bool(self._running) or self._ticks != t,
                                              timeout=left, timeout_summary="idle timeout")
            except TimeoutError:  # asyncio's, the builtin since Python 3.11
                continue
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._st.status == "open":
            self._st.run_no += 1
            workflow.continue_as_new(ConversationInput(conversation_id=self._id, config=self._cfg, state=self._st))
        workflow.set_current_details(f"Conversation {self._st.status} after {self._st.turns} turn(s); "
                                     f"pinned to {self._st.pinned_target or '-'}.")
        return self.view()

    @workflow.update(name=CONVERSATION_TURN_UPDATE)
    async def turn(self, inp: TurnInput) -> TurnResult:
        self._running += 1
        try:
            async with self._lock:
                await self._resume_once()
                if self._st.status == "closed":
                    raise closed_error(self._id)
                late = order_error(inp, self._id, self._st, busy=False)
                if late:
                    raise late
                self._turns_this_run += 1
                return await self._turn(inp, workflow.current_update_info().id)
        finally:
            self._handler_done()

    @turn.validator
    def _validate_turn(self, inp: TurnInput) -> None:
        check_turn(inp, self._id, self._st, closing=self._close_requested, busy=bool(self._running),
                   update_id=workflow.current_update_info().id)

    @workflow.update(name=CONVERSATION_CLOSE_UPDATE)
    async def close(self, inp: CloseInput) -> ConversationView:
        self._running += 1
        self._close_requested = True
        try:
            async with self._lock:
                await self._resume_once()
                if self._st.status != "closed":
                    await self._store(CONVERSATION_MARK_ACTIVITY, self._mark("closed", inp.reason))
                    self._st.status = "closed"
                return self.view()
        finally:
            self._handler_done()

    @workflow.query(name=CONVERSATION_VIEW_QUERY)
    def view(self) -> ConversationView:
        st = self._st
        return ConversationView(
            conversation_id=self._id, workflow_id=workflow.info().workflow_id, status=st.status, turns=st.turns,
            failed_turns=st.failed_turns, pinned_target=st.pinned_target, preferred_target=st.preferred_target,
            pin_history=list(st.pin_history), pin_moves=st.pin_moves, transcript=list(st.tail),
            transcript_from_turn=st.tail[0].turn if st.tail else st.turns + 1, run_no=st.run_no,
            idle_deadline=self._idle_deadline() if st.status == "open" else None)

    # --- one turn -------------------------------------------------------------------------------

    async def _turn(self, inp: TurnInput, update_id: str) -> TurnResult:
        st, cfg = self._st, self._cfg
        started = workflow.time()
        returning = await self._return_due()
        tail = inp.request or ChatRequest(messages=[_STORED])
        req = RequestInput(request=tail, task_type=cfg.task_type, tenant=cfg.tenant, origin_region=cfg.origin_region,
                           deadline_s=cfg.turn_deadline_s,
                           pinned_target=st.preferred_target if returning else st.pinned_target)
        new_tokens = estimate_prompt_tokens(inp.request) if inp.request else inp.estimated_tokens
        try:
            plan = await make_plan(plan_input(req, estimated_prompt_tokens=st.history_tokens + new_tokens))
        except PlanRejected as err:
            raise self._turn_failed(ErrorClass.INVALID_REQUEST.value, 400, err.message,
                                    RoutingTrace(route=cfg.task_type or ""), update_id) from None
        if returning:
            plan = pinning.second_choice(plan, st.pinned_target)
        walked = await walk_plan(plan, cfg.turn_deadline_s or plan.deadline_s, started,
                                 lambda entry, seq, left, rescue, after, repair: self._attempt(
                                     tail, inp, plan, entry, seq, left, rescue, after, repair),
                                 first_seq=st.next_seq)
        st.next_seq = walked.seq + 1
        trace = finish_trace(walked, started)
        if returning:
            trace.notes.insert(0, f"returning to preferred target {st.preferred_target} (healthy for "
                                  f"{self._cfg.return_after_s:g} s); current pin {st.pinned_target} is first fallback")
        if walked.result is None:
            stop = walked.stop
            assert stop is not None
            raise self._turn_failed(stop.error_class, stop.status, stop.message, trace, update_id, stop.retry_after_s)
        return await self._answered(inp, walked.result, trace, update_id, returning)

    async def _attempt(self, tail: ChatRequest, turn: TurnInput, plan: Plan, entry: PlanEntry, seq: int,
                       remaining: float, rescue: Partial | None, after: str | None,
                       repair: bool = True) -> AttemptResult:
        info = workflow.info()
        arg = TurnAttemptInput(
            attempt=AttemptInput(workflow_id=info.workflow_id, run_id=info.run_id, seq=seq, target=entry.target,
                                 request=tail, task_type=plan.route, tenant=self._cfg.tenant,
                                 timeout_s=entry.timeout_s, caller_budget_s=remaining,
                                 max_retry_wait_s=plan.max_retry_wait_s, max_tries=plan.retries + 1,
                                 stream=turn.stream_key is not None, stream_key=turn.stream_key, rescue=rescue,
                                 failover_after=after, repair_allowed=repair),
            history_turns=self._st.turns, request_ref=turn.request_ref)
        return await workflow.execute_local_activity(
            CONVERSATION_ATTEMPT_ACTIVITY, arg, result_type=AttemptResult, summary=entry.target,
            **DEFAULT_OPTIONS.attempt(entry, plan.retries + 1, remaining))

    async def _answered(self, inp: TurnInput, res: AttemptResult, trace: RoutingTrace, update_id: str,
                        returning: bool) -> TurnResult:
        st = self._st
        n = st.turns + 1
        move = pinning.pin_move(n, st.pinned_target, st.preferred_target, res.target, trace, workflow.time(),
                                returning=returning)
        preferred = res.target if move and move.kind == "initial" else st.preferred_target
        record = self._store(
            CONVERSATION_RECORD_ACTIVITY, RecordTurnInput(
                workflow_id=workflow.info().workflow_id, conversation_id=self._id, tenant=self._cfg.tenant,
                task_type=self._cfg.task_type, turn=n, update_id=update_id, request=inp.request,
                request_ref=inp.request_ref, response=res.response, response_ref=res.response_ref, target=res.target,
                pin_move=move, pinned_target=res.target, preferred_target=preferred,
                pin_moves=st.pin_moves + (1 if move else 0), next_seq=st.next_seq,
                history_tokens=st.history_tokens, at=workflow.time()), RecordTurnResult)
        try:
            recorded = await record
        except ApplicationError as err:  # answered but not stored: the caller may send the turn again
            raise self._turn_failed(STORAGE_UNAVAILABLE, 503, err.message, trace, update_id) from None
        st.turns, st.history_tokens, st.preferred_target = n, st.history_tokens + recorded.tokens, preferred
        if move:
            self._apply_move(move, trace)
        self._remember(inp, res, n, update_id)
        workflow.set_current_details(f"{st.turns} turn(s); pinned to **{st.pinned_target}**"
                                     + (f" since turn {st.pin_history[-1].turn}: {st.pin_history[-1].reason}"
                                        if st.pin_history else "") + ".")
        return TurnResult(conversation_id=self._id, workflow_id=workflow.info().workflow_id, turn=n,
                          response=res.response, response_ref=res.response_ref, trace=trace,
                          pinned_target=res.target, pin_move=move)

    def _apply_move(self, move: PinMove, trace: RoutingTrace) -> None:
        st = self._st
        st.pinned_target = move.to_target
        st.pin_history = pinning.record_move(st.pin_history, move)
        st.pin_moves += 1
        if move.kind != "initial":
            trace.notes.append(f"pin moved from {move.from_target} to {move.to_target} ({move.kind}): {move.reason}")
        workflow.upsert_search_attributes([sa.PINNED_MODEL.value_set(move.to_target)])

    def _remember(self, inp: TurnInput, res: AttemptResult, n: int, update_id: str) -> None:
        st = self._st
        if inp.request is not None:
            new = [TranscriptEntry(turn=n, idx=i, role=m.role, message=m) for i, m in enumerate(inp.request.messages)]
        else:
            new = [TranscriptEntry(turn=n, idx=0, role="user", ref=inp.request_ref)]
        reply = TranscriptEntry(turn=n, idx=len(new), role="assistant", target=res.target, ref=res.response_ref,
                                message=assistant_message(res.response) if res.response else None)
        st.tail = pinning.trim_tail(st.tail + new + [reply], TAIL_CHARS)
        st.seen_updates = (st.seen_updates + [update_id])[-SEEN_UPDATES_KEPT:]

    def _turn_failed(self, error_class: str, status: int, message: str, trace: RoutingTrace, update_id: str,
                     retry_after_s: float | None = None) -> ApplicationError:
        self._st.failed_turns += 1
        self._st.seen_updates = (self._st.seen_updates + [update_id])[-SEEN_UPDATES_KEPT:]
        details = RequestFailure(error_class=error_class, message=message, status=status,
                                 retry_after_s=retry_after_s, trace=trace)
        return ApplicationError(message, details.model_dump(mode="json"), type=error_class, non_retryable=True)

    # --- lifecycle helpers ----------------------------------------------------------------------

    async def _return_due(self) -> bool:
        """Should this turn try the preferred target again (``core/pinning.py``)? Asks the health
        activity only when a return is configured and the pin has been away long enough."""
        st, after = self._st, self._cfg.return_after_s
        now = workflow.time()
        away = pinning.moved_away_at(st.pin_history, st.preferred_target)
        if not pinning.return_due(after, st.pinned_target, st.preferred_target, away or 0.0, now):
            return False
        assert after is not None and st.preferred_target is not None
        try:
            health = await self._store(CONVERSATION_HEALTH_ACTIVITY,
                                       HealthInput(target=st.preferred_target, since=now - after), HealthResult)
        except ApplicationError:  # cannot tell: stay on the current pin this turn
            return False
        since = pinning.healthy_since(health.last_failure_at, health.cooldown_until, away)
        return pinning.return_due(after, st.pinned_target, st.preferred_target, since, now)

    async def _resume_once(self) -> None:
        """A fresh execution reads the stored conversation once (after an idle end it continues the
        transcript, pin and attempt numbering; a closed one stays closed)."""
        st = self._st
        if st.resumed:
            return
        got = await self._store(CONVERSATION_RESUME_ACTIVITY, ResumeInput(workflow_id=workflow.info().workflow_id),
                                ResumeResult)
        st.resumed = True
        if not got.found:
            return
        st.turns, st.next_seq, st.history_tokens = got.turns, got.next_seq, got.history_tokens
        st.pinned_target, st.preferred_target, st.pin_moves = got.pinned_target, got.preferred_target, got.pin_moves
        st.pin_history = got.pin_history
        st.tail = pinning.trim_tail(got.tail, TAIL_CHARS)
        if got.status == "closed":
            st.status = "closed"
        if st.pinned_target:
            workflow.upsert_search_attributes([sa.PINNED_MODEL.value_set(st.pinned_target)])

    async def _store(self, activity: str, arg: object, result_type: type | None = None) -> Any:
        """Run a database-only local activity (``STORE_OPTIONS``); its final failure becomes a
        ``StorageUnavailable`` error (503 to the caller), never a failed workflow task."""
        try:
            return await workflow.execute_local_activity(activity, arg, result_type=result_type,
                                                         schedule_to_close_timeout=STORE_OPTIONS.timeout,
                                                         retry_policy=STORE_OPTIONS.retry)
        except (ActivityError, ApplicationError, ActivityTimeout) as err:
            cause = err.cause if isinstance(err, ActivityError) else err
            raise ApplicationError(f"the conversation store is unavailable ({activity}): {cause}",
                                   type=STORAGE_UNAVAILABLE, non_retryable=True) from None

    def _mark(self, status: str, reason: str) -> MarkInput:
        return MarkInput(workflow_id=workflow.info().workflow_id, conversation_id=self._id, tenant=self._cfg.tenant,
                         task_type=self._cfg.task_type, status=status, reason=reason, at=workflow.time())

    def _handler_done(self) -> None:
        self._running -= 1
        self._ticks += 1
        self._st.last_active_at = workflow.time()

    def _idle_deadline(self) -> float:
        return (self._st.last_active_at or 0.0) + self._cfg.idle_timeout_s

    def _can_due(self) -> bool:
        return self._turns_this_run >= self._cfg.max_turns_per_run or workflow.info().is_continue_as_new_suggested()
