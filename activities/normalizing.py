"""Output normalisation of a whole (non-streamed) answer, in the attempt activity.

:meth:`OutputStage.apply` runs before the answer checks (``core/quality.py``), so a preamble in front
of JSON or a code fence around it is fixed instead of failing over:

1. each choice's text goes through :func:`core.normalize.normalize_text` (the route's steps);
2. a JSON answer (the request asks for JSON, or the route sets ``json_schema``) is validated against
   the route's schema, else the request's ``response_format`` schema, else as plain JSON;
3. still invalid and the route has ``repair: true`` and the request has not used its one repair
   (``AttemptInput.repair_allowed``): **one** repair call to the same target, with the invalid answer
   and the validation errors; its answer is normalised and validated again. Its tokens and cost are
   added to the attempt's. Never a second one: if it fails or is still invalid the attempt fails
   with ``MalformedResponse`` (non-retryable, with ``repair_used``), and the walk fails over to the
   next target, which may not repair again.

When anything changed, the raw answer is stored as a payload (kind ``raw.chat.completion``) and its
ref goes into the trace (:class:`core.quality_trace.Normalization`), so the audit shows raw and
normalised while workflow history carries only the normalised answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from activities.providers.base import AdapterResult, ProviderError
from activities.storage.payloads import PayloadStore
from core.chat import ChatRequest, ChatResponse, Usage
from core.normalize import normalize_text, repair_request, request_schema, schema_errors
from core.normalize_config import NormalizeConfig
from core.quality_trace import Change, Normalization, Repair

#: Sends one more request to the same target within the attempt: ``request -> AdapterResult``.
Recall = Callable[[ChatRequest], Awaitable[AdapterResult]]

RAW_KIND = "raw.chat.completion"


@dataclass
class Normalized:
    """The outcome of :meth:`OutputStage.apply`: the answer to deliver (normalised, its usage
    including a repair call's), the trace record, and ``invalid``: why the JSON is still not valid
    (empty when it is, or when no JSON was asked)."""

    result: AdapterResult
    record: Normalization
    invalid: list[str]
    repair_cost_usd: float = 0.0


def _normalize_choices(resp: ChatResponse, cfg: NormalizeConfig,
                       json_answer: bool) -> tuple[ChatResponse, list[Change]]:
    out = resp.model_copy(deep=True)
    changes: list[Change] = []
    for choice in out.choices:
        text = choice.message.content
        if text:
            choice.message.content, steps = normalize_text(text, cfg, json_answer=json_answer)
            changes += steps if choice.index == 0 else []
    return out, changes


def _json_wanted(req: ChatRequest, cfg: NormalizeConfig, resp: ChatResponse) -> bool:
    no_tools = not (resp.choices and resp.choices[0].message.tool_calls)
    return no_tools and (req.wants_json() or cfg.json_schema is not None)


class OutputStage:
    """Normalise and validate answers (see module docstring); raw answers go to ``payloads``."""

    def __init__(self, payloads: PayloadStore) -> None:
        self._payloads = payloads

    async def apply(self, cfg: NormalizeConfig, req: ChatRequest, res: AdapterResult, *, workflow_id: str,
                    target: str, repair_allowed: bool, recall: Recall, repair_budget_s: float,
                    price: Callable[[Usage], float]) -> Normalized:
        """Normalise ``res`` for ``req`` (see module docstring). ``recall`` makes the repair call
        under ``repair_budget_s`` seconds; ``price`` gives a usage's cost in USD."""
        raw = res.response
        wants_json = _json_wanted(req, cfg, raw)
        resp, changes = _normalize_choices(raw, cfg, wants_json)
        record = Normalization(changes=changes, raw_chars=len(raw.text()))
        schema = cfg.json_schema or request_schema(req)
        errors = schema_errors(resp.text(), schema) if wants_json else []
        out = Normalized(AdapterResult(resp, res.ttft_ms, list(res.notes), res.upstream_id), record, errors)
        if errors and cfg.repair and repair_allowed:
            await self._repair(out, cfg, req, schema, target, recall, repair_budget_s, price)
        if record.changes or record.repair is not None:
            record.raw_ref = await self._payloads.put(workflow_id, RAW_KIND, raw.model_dump_json().encode())
        return out

    async def _repair(self, out: Normalized, cfg: NormalizeConfig, req: ChatRequest, schema: dict | None,
                      target: str, recall: Recall, budget_s: float, price: Callable[[Usage], float]) -> None:
        """The one repair call; updates ``out`` in place (answer, usage, record, invalid)."""
        bad = out.result.response
        repair = Repair(target=target, errors=list(out.invalid))
        out.record.repair = repair
        started = time.perf_counter()
        try:
            async with asyncio.timeout(max(0.1, budget_s)):
                fixed = await recall(repair_request(req, bad.text(), out.invalid))
        except ProviderError as e:
            repair.errors_after = [f"repair call failed: {e.error_class.value}: {e.message[:200]}"]
        except TimeoutError:
            repair.errors_after = [f"repair call failed: no answer within {budget_s:.1f} s"]
        else:
            resp, steps = _normalize_choices(fixed.response, cfg, True)
            out.record.changes += [c.model_copy(update={"step": f"repair.{c.step}"}) for c in steps]
            repair.cost_usd = price(fixed.response.usage)
            out.repair_cost_usd = repair.cost_usd
            repair.errors_after = schema_errors(resp.text(), schema)
            resp.usage = _sum(bad.usage, fixed.response.usage)
            out.result = AdapterResult(resp, out.result.ttft_ms, out.result.notes + fixed.notes, fixed.upstream_id)
        repair.latency_ms = (time.perf_counter() - started) * 1000.0
        repair.ok = not repair.errors_after
        out.invalid = repair.errors_after


def skipped(res: AdapterResult) -> Normalization:
    """The record of a streamed answer: nothing changed, the client already holds the raw text."""
    return Normalization(skipped="streamed: the client already received the raw text",
                         raw_chars=len(res.response.text()))


def steps_column(n: Normalization | None) -> str | None:
    """The outcome row's ``normalized`` column: the steps that changed the answer and ``repair``
    (comma-separated, at most 255 chars), ``None`` when nothing changed."""
    if n is None:
        return None
    steps = list(dict.fromkeys(c.step for c in n.changes)) + (["repair"] if n.repair is not None else [])
    return ",".join(steps)[:255] or None


def _sum(a: Usage, b: Usage) -> Usage:
    """Token counts of the answer and its repair call, summed (estimated if either was)."""
    return Usage(prompt_tokens=a.prompt_tokens + b.prompt_tokens, completion_tokens=a.completion_tokens
                 + b.completion_tokens, total_tokens=a.total_tokens + b.total_tokens,
                 estimated=a.estimated or b.estimated)
