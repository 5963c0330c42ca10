"""The attempt activity: call one target once, classify any failure, record the outcome.

Pipeline of one try (STYLE.md: one short step each)::

    resolve target + key from the live config and environment
    -> the route's prompt variant for this target, or its stored rewrite   (activities/prompting.py)
    -> adapter.complete() under the target's whole-response timeout        (one HTTP call)
    -> success: the route's output normalisation, with at most one JSON repair call per request
       (activities/normalizing.py) -> answer checks (core/quality.py) -> cost, claim-check if too
       large, outcome row (with the variant, rewrite and normalisation steps), AttemptResult
       (an answer with a flag in ``health.quality_failover`` fails over as a non-retryable
       ``MalformedResponse`` instead: billed, recorded with its flags, never returned)
    -> failure: ProviderError -> retry decision and cooldown (core/failure_decision.py) -> outcome row
       -> ApplicationError

Failures leave as ``ApplicationError(type=<ErrorClass value>)`` with :class:`core.attempt.AttemptFailure`
details, in the BENIGN category (an expected provider failure, recorded in the outcome table and the
trace, is not a worker error to log with a stack trace; ``shared/TEMPORAL.md`` section 9):
retryable classes stay retryable (with ``next_retry_delay`` from a Retry-After no longer than the
route's wait budget); a longer Retry-After cools the target down until then and is raised
non-retryable so the workflow fails over at once. Temporal's retry policy is the only retry
layer: the HTTP client never retries (``activities/providers/http.py``). Same-target retries
also stay within the target's retry budget (``core/health/budget.py``, RESILIENCE.md R7.2).
Every outcome row carries the target's health state when the call was made and is fed to this
process's health monitor right after it is written.

The key is read here, from the environment variable the provider config names, and goes nowhere
else: not into inputs, results, errors, logs or the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from opentelemetry import trace
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities import metrics
from activities.cache import ResponseCache
from activities.concurrency import NO_LIMIT, Permit, TargetLimiters
from activities.early_reply import EarlyReplies
from activities.failover_budgets import FailoverBudgets
from activities.head_start import HeadStarts, adopt, failure_journal, from_journal
from activities.health.monitor import HealthMonitor
from activities.normalizing import OutputStage, skipped, steps_column
from activities.prompting import PromptStage
from activities.providers.base import AdapterResult, ProviderCall, ProviderError
from activities.providers.registry import adapter_for
from activities.storage.cooldowns import CooldownStore
from activities.storage.outcomes import OutcomeRow, OutcomeStore
from activities.storage.payloads import INLINE_LIMIT_BYTES, PayloadStore
from activities.stream_call import StreamFailed, streamed_call
from activities.stream_glue import Glue
from activities.streams.publisher import StreamPublisher
from core.attempt import AttemptFailure, AttemptInput, AttemptRecord, AttemptResult, Partial
from core.cache import uncacheable_answer
from core.chat import ChatRequest, Usage
from core.config import ConfigSource, SwitchyardConfig, TargetConfig
from core.errors import POLICIES, ErrorClass
from core.failure_decision import decide
from core.health.settings import HealthSettings
from core.names import ATTEMPT_ACTIVITY
from core.priority import priority_name
from core.prompt_variants import apply_prompt
from core.quality import check_answer
from core.quality_flags import INVALID_JSON
from core.quality_trace import Normalization
from core.rescue import continuation_request
from core.tokens import estimate_prompt_tokens
from core.usage import cost_usd

_tracer = trace.get_tracer("switchyard.attempt")


def _priority(inp: AttemptInput) -> int | None:
    """The request's Temporal priority key: the input's (local activities carry no priority in
    their info), else the running activity's (inherited from its workflow), or ``None``."""
    if inp.priority is not None:
        return inp.priority
    if not activity.in_activity():  # a head start (activities/head_start.py) runs outside an activity
        return None
    prio = activity.info().priority
    return prio.priority_key if prio is not None else None


@dataclass
class _Try:
    inp: AttemptInput
    target: TargetConfig
    try_no: int
    started: float  # perf_counter seconds
    health_state: str | None = None  # the target's health when the call was made
    variant: str | None = None  # the route's prompt variant sent (activities/prompting.py)
    rewrite: str | None = None  # the stored prompt rewrite sent, if any
    call: ProviderCall | None = None  # the whole-answer call (a JSON repair resends on it)
    protocol: str = ""
    normalization: Normalization | None = None  # what output normalisation did (activities/normalizing.py)
    run_id: asyncio.Future[str] | None = None  # a head start's run id, known once its workflow started

    def repair_used(self) -> bool:
        """Whether this try made the request's one JSON repair call."""
        return self.normalization is not None and self.normalization.repair is not None

    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


class AttemptActivities:
    """Holds the collaborators of the attempt activity (injected, so tests need no patching).

    ``env``: where keys are read (default ``os.environ``); ``clock``: unix seconds;
    ``inline_limit_bytes``: answers larger than this are stored and passed by reference;
    ``early``: this process's early-reply waiters (``activities/early_reply.py``; ``None``: none).
    ``prompts``: prompt variants and stored rewrites (``activities/prompting.py``; ``None``: variants
    only); ``outputs``: output normalisation (``activities/normalizing.py``; default: on ``payloads``).
    ``heads``: this process's head-started first tries (``activities/head_start.py``; ``None``: none).
    """

    def __init__(self, configs: ConfigSource, http: httpx.AsyncClient, outcomes: OutcomeStore,
                 cooldowns: CooldownStore, payloads: PayloadStore, *, env: Mapping[str, str] | None = None,
                 clock=time.time, inline_limit_bytes: int = INLINE_LIMIT_BYTES,
                 health: HealthMonitor | None = None, streams: StreamPublisher | None = None,
                 limiters: TargetLimiters | None = None, budgets: FailoverBudgets | None = None,
                 cache: ResponseCache | None = None, early: EarlyReplies | None = None,
                 prompts: PromptStage | None = None, outputs: OutputStage | None = None,
                 heads: HeadStarts | None = None) -> None:
        self._configs = configs
        self._http = http
        self._outcomes = outcomes
        self._cooldowns = cooldowns
        self._payloads = payloads
        self._env = env if env is not None else os.environ
        self._clock = clock
        self._inline_limit = inline_limit_bytes
        self._health = health
        self._streams = streams
        self._limiters = limiters
        self._budgets = budgets
        self._cache = cache
        self._early = early
        self._prompts = prompts  # None: variants still apply, without stored rewrites
        self._outputs = outputs or OutputStage(payloads)
        self._heads = heads

    @activity.defn(name=ATTEMPT_ACTIVITY)
    async def attempt(self, inp: AttemptInput) -> AttemptResult:
        """Call ``inp.target`` once. Returns :class:`AttemptResult`; raises ``ApplicationError``
        whose ``type`` is an :class:`core.errors.ErrorClass` value. A ``recovering`` first attempt
        whose answer was journaled for an early reply returns that answer without a call; a
        head-started one adopts the gateway's try (``activities/head_start.py``)."""
        if inp.recovering and inp.seq == 1 and (done := await self._journaled(inp)) is not None:
            return done
        try:
            if inp.head_start and inp.seq == 1 and activity.info().attempt == 1:
                adopted = await adopt(self._heads, self._outcomes.journaled, inp)
                if adopted is not None:
                    return adopted
            return await self._attempt(inp)
        finally:  # a waiting gateway handler hears "no early answer" at once, and waits for the workflow
            if self._early is not None:
                self._early.decline(inp.workflow_id, inp.seq, activity.info().attempt)

    async def head_start(self, inp: AttemptInput, run_id: asyncio.Future[str]) -> AttemptResult:
        """The first try of a first attempt, begun by the gateway before its workflow started
        (``activities/head_start.py``); its rows wait for ``run_id``. Returns or raises as
        :meth:`attempt` does; its result or failure is journaled for the adopting attempt."""
        try:
            return await self._attempt(inp, try_no=1, run_id=run_id)
        finally:
            if self._early is not None:
                self._early.decline(inp.workflow_id, inp.seq, 1)

    async def _attempt(self, inp: AttemptInput, *, try_no: int | None = None,
                       run_id: asyncio.Future[str] | None = None) -> AttemptResult:
        cfg, _ = self._configs.current()
        t = _Try(inp, _target(cfg, inp.target), try_no or activity.info().attempt, time.perf_counter(),
                 self._health.state_of(inp.target) if self._health else None, run_id=run_id)
        provider = cfg.providers[t.target.provider]
        key = self._env.get(provider.api_key_env) if provider.api_key_env else None
        with _tracer.start_as_current_span(
                "switchyard.attempt", attributes={"switchyard.target": inp.target, "switchyard.try": t.try_no,
                                                  "switchyard.task_type": inp.task_type}) as span:
            if provider.api_key_env and not key:
                err = ProviderError(ErrorClass.AUTH, f"environment variable {provider.api_key_env} is not set")
                raise await self._failed(t, err, span)
            call = ProviderCall(t.target, provider, key, await self._prepare(cfg, t),
                                min(inp.timeout_s, inp.caller_budget_s))
            if self._budgets is not None and not self._budgets.admit(inp, t.try_no):
                raise self._over_budget(t)
            permit = await self._acquire(t)
            with self._in_flight(t.target.id, call.timeout_s):
                try:
                    res = await self._call(t, call, provider.protocol, span)
                except ApplicationError as e:
                    permit.done(e.type, None)
                    raise
                except asyncio.CancelledError:
                    permit.done("Cancelled", None)
                    await asyncio.shield(self._record_cancelled(t))
                    raise
                except BaseException:
                    permit.done("Error", None)
                    raise
                permit.done(None, t.latency_ms())
                return res

    async def _journaled(self, inp: AttemptInput) -> AttemptResult | None:
        """The result journaled by this call's earlier run, whose answer the caller already has
        (``activities/early_reply.py``), or ``None``."""
        body = await self._outcomes.journaled(inp.run_id, inp.seq, activity.info().attempt)
        if body is None:
            return None
        result = from_journal(body)
        result.notes.append("recovered: the answer journaled before the early reply, not called again")
        return result

    async def _prepare(self, cfg: SwitchyardConfig, t: _Try) -> ChatRequest:
        """The request as sent to this target: the route's prompt variant or its stored rewrite
        (``activities/prompting.py``), with the task-type metadata."""
        request = _with_task_type(t.inp.request, t.inp.task_type)
        if self._prompts is None:
            route = cfg.routes.get(t.inp.task_type)
            shaped = apply_prompt(route.prompts if route else None, request, t.target.id)
            t.variant = shaped.variant
            return shaped.request
        prepared = await self._prompts.prepare(cfg, t.inp.task_type, request, t.target.id)
        t.variant, t.rewrite = prepared.variant, prepared.rewrite
        return prepared.request

    async def _normalize(self, t: _Try, res: AdapterResult, streamed: bool) -> tuple[AdapterResult, list[str]]:
        """The route's output normalisation (``activities/normalizing.py``): the answer to deliver and
        why its JSON is still invalid (empty: valid or not JSON). A streamed answer is only noted:
        the client already holds its text."""
        route = self._configs.current()[0].routes.get(t.inp.task_type)
        if route is None or route.normalize is None:
            return res, []
        if streamed or t.call is None:
            t.normalization = skipped(res)
            return res, []
        call, protocol = t.call, t.protocol
        out = await self._outputs.apply(
            route.normalize, call.request, res, workflow_id=t.inp.workflow_id, target=t.target.id,
            repair_allowed=t.inp.repair_allowed,
            recall=lambda req: adapter_for(protocol).complete(self._http, dataclasses.replace(call, request=req)),
            repair_budget_s=call.timeout_s - (time.perf_counter() - t.started),
            price=lambda u: cost_usd(u, t.target.price))
        t.normalization = out.record
        return out.result, out.invalid

    def _over_budget(self, t: _Try) -> ApplicationError:
        """The route's failover budget is spent: the request ends here, not on the next target."""
        msg = (f"not called: the failover budget of route {t.inp.task_type!r} is exhausted (failovers after "
               f"overload errors are limited to a share of requests so overload does not multiply traffic); "
               f"the previous target failed with {t.inp.failover_after}")
        return _not_called(t, ErrorClass.FAILOVER_BUDGET, msg, msg)

    async def _acquire(self, t: _Try) -> Permit:
        """A place under the target's adaptive concurrency limit (``activities/concurrency.py``);
        at the limit, an ``Overloaded`` failure raised without calling the provider, recorded in
        the trace only (no outcome row: the limit is ours, not the target's health)."""
        permit = self._limiters.acquire(t.target.id, _priority(t.inp)) if self._limiters else NO_LIMIT
        if permit is not None:
            return permit
        assert self._limiters is not None
        limit, n = self._limiters.limit(t.target.id)
        msg = (f"not called: {t.target.id} is at its adaptive concurrency limit in this worker "
               f"({n} in flight, limit {limit:.1f} for priority {priority_name(_priority(t.inp))})")
        earlier = (await self._outcomes.earlier_tries(t.inp.workflow_id, t.inp.seq, t.try_no, t.inp.run_id)
                   if t.try_no > 1 else [])
        raise _not_called(t, ErrorClass.OVERLOADED, f"{t.target.id}: {msg}", msg, earlier)

    async def _call(self, t: _Try, call: ProviderCall, protocol: str, span: trace.Span) -> AttemptResult:
        """The provider call: streamed when the caller streams, else one whole-answer call."""
        if t.inp.stream and "streaming" in t.target.capabilities and (t.inp.request.n or 1) == 1:
            return await self._streamed(t, call, protocol, span)
        t.call, t.protocol = call, protocol
        try:
            async with asyncio.timeout(call.timeout_s):
                result = await adapter_for(protocol).complete(self._http, call)
        except ProviderError as e:
            raise await self._failed(t, e, span) from None
        except TimeoutError:
            err = ProviderError(ErrorClass.TIMEOUT, f"no complete answer within {call.timeout_s:g} s")
            raise await self._failed(t, err, span) from None
        return await self._succeeded(t, result, span)

    def _in_flight(self, target: str, timeout_s: float) -> contextlib.AbstractContextManager[Any]:
        """The health monitor's in-flight registration (a hung target is not probed while its calls
        run, ``activities/health/monitor.py``), or nothing without a monitor."""
        return self._health.in_flight(target, timeout_s) if self._health else contextlib.nullcontext()

    async def _record_cancelled(self, t: _Try) -> None:
        """The caller cancelled (a streaming client disconnected): an outcome row that does not count
        against the target's health, so the call is still accounted for."""
        with contextlib.suppress(Exception):
            await self._bind(t)
            await self._outcomes.record(self._row(t, "Cancelled", t.latency_ms(), counts_against_health=False,
                                                  message="cancelled by the caller"))

    async def _streamed(self, t: _Try, call: ProviderCall, protocol: str, span: trace.Span) -> AttemptResult:
        """The streamed call (``activities/stream_call.py``): deltas published as they arrive; a
        rescue attempt continues ``inp.rescue`` (``core/rescue.py``); a failure after the first
        token carries what the client has received (:class:`core.attempt.Partial`)."""
        rescue = t.inp.rescue
        if rescue is not None and rescue.text:
            call = ProviderCall(call.target, call.provider, call.api_key,
                                continuation_request(call.request, rescue.text, protocol), call.timeout_s)
        sink = None
        if self._streams is not None:
            sink = self._streams.sink(t.inp.stream_id(), t.inp.seq, t.target.id, t.target.model,
                                      base_offset=len(rescue.text) if rescue else 0,
                                      base_calls=len(rescue.tool_calls) if rescue else 0,
                                      also_shared=t.inp.stream_shared)
        glue = Glue(rescue, protocol, sink)
        try:
            async with asyncio.timeout(call.timeout_s):
                result = await streamed_call(adapter_for(protocol), self._http, call, glue)  # type: ignore[arg-type]
        except StreamFailed as f:
            raise await self._failed_stream(t, f.error, glue, call, span) from None
        except TimeoutError:
            err = ProviderError(ErrorClass.TIMEOUT, f"no complete answer within {call.timeout_s:g} s",
                                status=200 if glue.committed else None)
            raise await self._failed_stream(t, err, glue, call, span) from None
        finally:
            if sink is not None:
                await sink.aclose()
        if rescue is not None:
            result.notes.append(f"rescue: continued a partial answer of {len(rescue.text)} chars"
                                + (f" and {len(rescue.tool_calls)} tool call(s)" if rescue.tool_calls else ""))
        return await self._succeeded(t, result, span, streamed=True)

    async def _failed_stream(self, t: _Try, err: ProviderError, glue: Glue, call: ProviderCall,
                             span: trace.Span) -> ApplicationError:
        """A streamed call failed: before its first token an ordinary failure; after it (or while
        continuing a partial answer) the failure carries the partial answer, is billed for what it
        produced (estimated: chars / 4, ``core/tokens.py``) and is never retried on the same target."""
        if not glue.committed and t.inp.rescue is None:
            return await self._failed(t, err, span)
        produced = "".join(glue.text)
        usage = Usage(prompt_tokens=estimate_prompt_tokens(call.request), completion_tokens=-(-len(produced) // 4),
                      estimated=True)
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
        cost = cost_usd(usage, t.target.price) if glue.committed else 0.0
        partial = glue.partial(t.target.model)
        if glue.committed:
            partial.usage = _add_usage(partial.usage, usage)
            partial.cost_usd += cost
        err.should_retry = False if glue.committed else err.should_retry
        return await self._failed(t, err, span, partial=partial, part_usage=usage if glue.committed else None,
                                  prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                                  tokens_estimated=True, cost_usd=cost)

    async def _succeeded(self, t: _Try, res: AdapterResult, span: trace.Span, *,
                         streamed: bool = False) -> AttemptResult:
        res, invalid = await self._normalize(t, res, streamed)
        latency = t.latency_ms()
        usage = res.response.usage
        cost = cost_usd(usage, t.target.price)
        flags = check_answer(t.inp.request, res.response)
        tokens = {"ttft_ms": res.ttft_ms, "prompt_tokens": usage.prompt_tokens, "cost_usd": cost,
                  "completion_tokens": usage.completion_tokens, "tokens_estimated": usage.estimated,
                  "quality_flags": ",".join(flags)}
        bad = [f for f in flags if f in self._failover_flags(t.target.id)]
        if streamed:  # the client has the text already: only invalid JSON (nothing to deliver) fails it
            bad = [f for f in flags if f == INVALID_JSON and t.inp.request.wants_json()]
        if bad and streamed:
            err = ProviderError(ErrorClass.MALFORMED_RESPONSE, "the streamed answer is not valid JSON"
                                + (" after a rescue" if t.inp.rescue else "") + "; it cannot be made valid",
                                status=200, should_retry=False)
            raise await self._failed(t, err, span, stop_walk=True, **tokens) from None
        if invalid:  # the route's JSON schema, after normalisation (and its one repair call, if made)
            err = ProviderError(ErrorClass.MALFORMED_RESPONSE, "answer is not valid for the route's JSON format"
                                + (" after one repair call" if t.repair_used() else "") + ": "
                                + "; ".join(invalid)[:300], status=200, should_retry=False)
            raise await self._failed(t, err, span, **tokens) from None
        if bad:  # DESIGN.md "Response checks": a 200 that fails the checks fails over (billed, not returned)
            err = ProviderError(ErrorClass.MALFORMED_RESPONSE, f"answer failed checks: {', '.join(bad)}",
                                status=200, should_retry=False)
            raise await self._failed(t, err, span, **tokens) from None
        if t.inp.rescue is not None:  # the client's usage covers every part of the glued answer
            res.response.usage = _add_usage(t.inp.rescue.usage, usage)
        span.set_attributes({"switchyard.status": "ok", "gen_ai.usage.input_tokens": usage.prompt_tokens,
                             "gen_ai.usage.output_tokens": usage.completion_tokens})
        body = res.response.model_dump_json().encode()
        await self._store(t, res, flags, cost, len(body))  # before any reply: the next request may hit it
        result = AttemptResult(target=t.target.id, response=res.response, response_bytes=len(body),
                               latency_ms=latency, ttft_ms=res.ttft_ms, usage=usage, cost_usd=cost,
                               try_no=t.try_no, notes=res.notes, variant=t.variant, rewrite=t.rewrite,
                               normalization=t.normalization)
        big = len(body) > self._inline_limit
        if big:
            result.response = None
            result.response_ref = await self._payloads.put(t.inp.workflow_id, "chat.completion", body)
        early = self._early is not None and not streamed and not big and \
            self._early.wants(t.inp.workflow_id, t.inp.seq, t.try_no)
        await self._bind(t)
        await self._record(self._row(t, "ok", latency, **tokens), streamed=t.inp.stream,
                           journal=result.model_dump_json().encode() if early or t.run_id is not None else None)
        if early:  # the outcome row and the journaled answer are committed: the gateway may reply
            assert self._early is not None
            self._early.offer(t.inp.workflow_id, result)
        if t.try_no > 1:
            result.earlier_tries = await self._outcomes.earlier_tries(t.inp.workflow_id, t.inp.seq, t.try_no,
                                                                      t.inp.run_id)
        return result

    async def _store(self, t: _Try, res: AdapterResult, flags: tuple[str, ...], cost: float, size: int) -> None:
        """Store the answer in the route's response cache when the plan asked for it and it is
        complete (``core/cache.py`` :func:`uncacheable_answer`) and fits a workflow payload."""
        if self._cache is None or t.inp.cache_key is None or size > self._inline_limit:
            return
        why = uncacheable_answer(res.response, flags, rescued=t.inp.rescue is not None)
        if why is not None:
            res.notes.append(f"cache: not stored ({why})")
            return
        route = self._configs.current()[0].routes.get(t.inp.task_type)
        if route is not None and route.cache.mode != "off":
            await self._cache.put(t.inp.task_type, t.inp.tenant, t.inp.cache_key, route.cache, res.response,
                                  cost, t.target.id)

    async def _bind(self, t: _Try) -> None:
        """A head start's run id into ``t.inp`` before a row is keyed by it (``""`` if the start failed)."""
        if t.run_id is None or t.inp.run_id:
            return
        try:
            run_id = await asyncio.shield(t.run_id)
        except Exception:  # noqa: BLE001 - the start failed: the row keeps the workflow id alone
            run_id = ""
        t.inp = t.inp.model_copy(update={"run_id": run_id})

    def _failover_flags(self, target: str) -> tuple[str, ...]:
        return (self._health.settings(target) if self._health else HealthSettings()).quality_failover

    async def _record(self, row: OutcomeRow, streamed: bool = False, journal: bytes | None = None) -> None:
        """Write the outcome row (with ``journal``, the journaled result of an early reply, in the
        same transaction), record its metrics, then feed it to this process's health at once."""
        await self._outcomes.record(row, journal)
        metrics.record_outcome(row, streamed=streamed)
        if self._health is not None:
            self._health.observe_outcome(row)

    async def _failed(self, t: _Try, err: ProviderError, span: trace.Span, *, partial: Partial | None = None,
                      part_usage: Usage | None = None, stop_walk: bool = False,
                      **row_fields: Any) -> ApplicationError:
        latency = t.latency_ms()
        decision = decide(err.error_class, retry_after_s=err.retry_after_s, should_retry=err.should_retry,
                          try_no=t.try_no, max_tries=t.inp.max_tries, max_retry_wait_s=t.inp.max_retry_wait_s,
                          retry_budget=lambda: self._health is None or self._health.allow_retry(t.target.id),
                          caller_budget_short=t.inp.caller_budget_s < t.inp.timeout_s, now=self._clock())
        cls, retry, delay, cooldown_until = (decision.error_class, decision.retry, decision.delay_s,
                                             decision.cooldown_until)
        if cooldown_until is not None:
            await self._cooldowns.set(t.target.id, cooldown_until, cls.value)
        span.set_attributes({"switchyard.status": cls.value, "http.response.status_code": err.status or 0})
        earlier = (await self._outcomes.earlier_tries(t.inp.workflow_id, t.inp.seq, t.try_no, t.inp.run_id)
                   if t.try_no > 1 and not retry else [])
        details = AttemptFailure(target=t.target.id, error_class=cls.value, status=err.status,
                                 message=err.message[:500], latency_ms=latency, retry_after_s=err.retry_after_s,
                                 cooldown_until=cooldown_until, try_no=t.try_no, earlier_tries=earlier,
                                 partial=partial, usage=part_usage,
                                 cost_usd=(row_fields.get("cost_usd") or 0.0) if part_usage else 0.0,
                                 stop_walk=stop_walk, variant=t.variant, rewrite=t.rewrite,
                                 repair_used=t.repair_used())
        failure = ApplicationError(f"{t.target.id}: {cls.value}" + (f" {err.status}" if err.status else "")
                                   + f": {err.message[:200]}", details.model_dump(mode="json"), type=cls.value,
                                   non_retryable=not retry, category=ApplicationErrorCategory.BENIGN,
                                   next_retry_delay=None if delay is None else timedelta(seconds=delay))
        await self._bind(t)
        await self._record(self._row(
            t, cls.value, latency, http_status=err.status, retry_after_s=err.retry_after_s,
            counts_against_health=POLICIES[cls].counts_against_health, message=err.message[:500], **row_fields),
            streamed=t.inp.stream, journal=failure_journal(failure) if t.run_id is not None else None)
        return failure

    def _row(self, t: _Try, status_class: str, latency: float, **fields: Any) -> OutcomeRow:
        """The outcome row of this try; ``fields`` are the remaining :class:`OutcomeRow` fields."""
        return OutcomeRow(workflow_id=t.inp.workflow_id, run_id=t.inp.run_id, seq=t.inp.seq, try_no=t.try_no,
                          target=t.target.id, provider=t.target.provider, model=t.target.model,
                          region=t.target.region, task_type=t.inp.task_type, tenant=t.inp.tenant,
                          status_class=status_class, latency_ms=latency, created_at=self._clock(),
                          health_state=t.health_state, prompt_variant=t.variant, prompt_rewrite=t.rewrite,
                          normalized=steps_column(t.normalization), **fields)


def _not_called(t: _Try, cls: ErrorClass, title: str, msg: str,
                earlier: list[AttemptRecord] | None = None) -> ApplicationError:
    """A try refused before any call (failover budget, concurrency limit): ``cls``, non-retryable,
    titled ``title``, with ``msg`` and the earlier tries in its :class:`AttemptFailure` details."""
    details = AttemptFailure(target=t.target.id, error_class=cls.value, message=msg, try_no=t.try_no,
                             earlier_tries=earlier or [])
    return ApplicationError(title, details.model_dump(mode="json"), type=cls.value, non_retryable=True,
                            category=ApplicationErrorCategory.BENIGN)


def _add_usage(a: Usage, b: Usage) -> Usage:
    """Token counts of two parts of one answer, summed (estimated if either was)."""
    return Usage(prompt_tokens=a.prompt_tokens + b.prompt_tokens, completion_tokens=a.completion_tokens
                 + b.completion_tokens, total_tokens=a.total_tokens + b.total_tokens,
                 estimated=a.estimated or b.estimated)


def _with_task_type(request: ChatRequest, task_type: str) -> ChatRequest:
    """``request`` with ``metadata.task_type`` set to the route, so the adapters send the
    ``x-switchyard-task-type`` header (the simulator picks its task profile by it; the provider
    bodies drop ``metadata``). A caller's own ``metadata.task_type`` is kept."""
    if not task_type or (request.metadata or {}).get("task_type"):
        return request
    return request.model_copy(update={"metadata": {**(request.metadata or {}), "task_type": task_type}})


def _target(cfg: SwitchyardConfig, target_id: str) -> TargetConfig:
    try:
        return cfg.target(target_id)
    except KeyError:
        raise ApplicationError(f"target {target_id} is no longer in the config",
                               type=ErrorClass.MODEL_NOT_FOUND.value, non_retryable=True) from None
