"""Spend per tenant, route and target from outcome rows, with failover's extra cost separated.

The guide this project follows asks teams to budget for what failover costs on top of the normal
bill. Here that is, per request that failed over (its answer came from another target than the
first one it called): **what it paid** (every billed call of the request: the answer and the
billed parts of a rescued stream) **minus what its first target would have charged for the same
tokens** at that target's configured price. A cheaper backup makes it negative (failover saved
money). Requests that never failed over have no extra cost; retries of the same target bill
nothing (providers do not bill failed calls).

Pure: input rows are plain :class:`CostRow` values (``activities/storage/cost_queries.py`` reads
them), prices come from the config. Units: USD, tokens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, Field

from core.chat import Usage
from core.config import Price
from core.usage import cost_usd


class CostRow(BaseModel):
    """One billed or failed call (an outcome row's cost fields)."""

    workflow_id: str
    seq: int
    try_no: int
    target: str
    task_type: str
    tenant: str
    status_class: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class CostLine(BaseModel):
    """One row of a cost table. ``key``: the tenant, route or target (or ``total``)."""

    key: str
    requests: int = 0
    calls: int = 0
    answered: int = 0
    spend_usd: float = 0.0
    failed_over: int = 0
    failover_extra_usd: float = 0.0


class CostReport(BaseModel):
    """``by_tenant``, ``by_route``, ``by_target`` (each line keyed by its value) and ``total``.

    ``failover_extra_usd`` of a target line is charged to the target that answered the request
    that failed over; ``unpriced_primaries``: first targets no longer in the config (their
    requests' extra cost counts as 0)."""

    by_tenant: list[CostLine] = Field(default_factory=list)
    by_route: list[CostLine] = Field(default_factory=list)
    by_target: list[CostLine] = Field(default_factory=list)
    total: CostLine = Field(default_factory=lambda: CostLine(key="total"))
    unpriced_primaries: list[str] = Field(default_factory=list)


def failover_extra(calls: list[CostRow], prices: dict[str, Price]) -> tuple[float | None, CostRow | None]:
    """``(extra USD, answering call)`` of one request's calls (any order); extra is ``None`` when
    the request did not fail over or its first target has no price."""
    calls = sorted(calls, key=lambda c: (c.seq, c.try_no))
    answer = next((c for c in reversed(calls) if c.status_class == "ok"), None)
    if answer is None or answer.target == calls[0].target:
        return None, answer
    price = prices.get(calls[0].target)
    if price is None:
        return None, answer
    paid = sum(c.cost_usd for c in calls)
    at_primary = cost_usd(Usage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens),
                          price)
    return paid - at_primary, answer


class _Tables:
    """The three tables and the total being filled."""

    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, CostLine]] = {"tenant": {}, "route": {}, "target": {}}
        self.total = CostLine(key="total")
        self.target_requests: dict[str, set[str]] = defaultdict(set)

    def line(self, kind: str, key: str) -> CostLine:
        return self.kinds[kind].setdefault(key, CostLine(key=key))

    def add_request(self, calls: list[CostRow], extra: float | None, answer: CostRow | None) -> None:
        first = min(calls, key=lambda c: (c.seq, c.try_no))
        failed_over = answer is not None and answer.target != first.target
        answered = [self.line("tenant", first.tenant), self.line("route", first.task_type), self.total]
        if answer is not None:
            answered.append(self.line("target", answer.target))
        for i, ln in enumerate(answered):
            ln.requests += i < 3  # a target line counts the requests it took part in (below)
            ln.answered += answer is not None
            ln.failed_over += failed_over
            ln.failover_extra_usd += (extra or 0.0) if failed_over else 0.0
        for c in calls:
            self.target_requests[c.target].add(c.workflow_id)
            for ln in (self.line("tenant", c.tenant), self.line("route", c.task_type),
                       self.line("target", c.target), self.total):
                ln.calls += 1
                ln.spend_usd += c.cost_usd

    def ordered(self, kind: str) -> list[CostLine]:
        for key, ln in self.kinds["target"].items():
            ln.requests = len(self.target_requests[key])
        return sorted(self.kinds[kind].values(), key=lambda ln: (-ln.spend_usd, ln.key))


def build_report(rows: Iterable[CostRow], prices: dict[str, Price]) -> CostReport:
    """Aggregate ``rows`` (every call of the period) into a :class:`CostReport`; ``prices``:
    target id -> configured price (USD per 1M tokens)."""
    per_request: dict[str, list[CostRow]] = defaultdict(list)
    for r in rows:
        per_request[r.workflow_id].append(r)
    tables, unpriced = _Tables(), set()
    for calls in per_request.values():
        extra, answer = failover_extra(calls, prices)
        first = min(calls, key=lambda c: (c.seq, c.try_no))
        if answer is not None and answer.target != first.target and first.target not in prices:
            unpriced.add(first.target)
        tables.add_request(calls, extra, answer)
    return CostReport(by_tenant=tables.ordered("tenant"), by_route=tables.ordered("route"),
                      by_target=tables.ordered("target"), total=tables.total, unpriced_primaries=sorted(unpriced))
