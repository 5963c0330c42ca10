"""Rate limits per gateway key and per tenant, before a workflow starts (``docs/SHEDDING.md``).

:meth:`RateLimiter.admit` builds the buckets that apply to a request (``key:<key id>:requests``,
``key:<key id>:tokens``, ``tenant:<tenant>:requests``, ``tenant:<tenant>:tokens``; limits from
``admission``), takes one request and the token estimate (:func:`token_estimate`) from all of them
at once in the shared store, and either returns a :class:`Ticket` or raises a 429 in OpenAI's shape
(``rate_limit_error`` / ``rate_limit_exceeded``) with ``Retry-After`` / ``retry-after-ms`` and
OpenAI's ``x-ratelimit-*`` headers. :meth:`RateLimiter.settle` charges the difference between the
real usage and the estimate once the answer is known. The store being down admits the request
(logged): the limiter's outage must not be the service's.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from activities.admission.store import RateStore, StoreUnavailable
from core.admission_config import AdmissionConfig, RateLimits
from core.chat import ChatRequest
from core.ratelimit import BucketSpec, Decision, duration_text, reset_s
from core.tokens import estimate_prompt_tokens
from worker.gateway.errors import GatewayError

log = logging.getLogger("switchyard.gateway")


def token_estimate(req: ChatRequest, cfg: AdmissionConfig) -> int:
    """Tokens a request is expected to use: estimated prompt tokens (``core/tokens.py``) plus its
    output cap (``max_completion_tokens`` / ``max_tokens``), else ``cfg.default_output_tokens``."""
    return estimate_prompt_tokens(req) + (req.output_cap() or cfg.default_output_tokens)


@dataclass
class Ticket:
    """An admitted request: the token buckets to settle, the estimate taken (tokens) and the
    ``x-ratelimit-*`` headers for the response."""

    token_specs: list[BucketSpec] = field(default_factory=list)
    estimate: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def bucket_specs(limits: list[tuple[str, RateLimits]], tokens: int) -> list[BucketSpec]:
    """The buckets for ``(scope, limits)`` pairs (scope: ``key:<id>`` or ``tenant:<name>``): one
    request from each request bucket, ``tokens`` from each token bucket; unset limits omitted."""
    specs: list[BucketSpec] = []
    for scope, lim in limits:
        if lim.requests_per_min:
            specs.append(BucketSpec(f"{scope}:requests", lim.requests_per_min, lim.requests_per_min / 60.0, 1))
        if lim.tokens_per_min:
            specs.append(BucketSpec(f"{scope}:tokens", lim.tokens_per_min, lim.tokens_per_min / 60.0, tokens))
    return specs


def ratelimit_headers(specs: list[BucketSpec], decision: Decision) -> dict[str, str]:
    """OpenAI's headers (``x-ratelimit-limit-requests``, ``-remaining-requests``,
    ``-reset-requests`` and the same for ``tokens``), from the tightest bucket of each kind."""
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        mine = [s for s in specs if s.key.endswith(":" + kind)]
        if not mine:
            continue
        tight = min(mine, key=lambda s: decision.levels[s.key] / s.capacity)
        level = decision.levels[tight.key]
        headers[f"x-ratelimit-limit-{kind}"] = str(int(tight.capacity))
        headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, math.floor(level)))
        headers[f"x-ratelimit-reset-{kind}"] = duration_text(reset_s(level, tight))
    return headers


class RateLimiter:
    """The gateway's rate limiting on a shared :class:`RateStore` (``None``: no limits)."""

    def __init__(self, store: RateStore | None) -> None:
        self.store = store

    async def admit(self, req: ChatRequest, tenant: str, key_id: str | None, cfg: AdmissionConfig) -> Ticket:
        """The :class:`Ticket`; raises :class:`GatewayError` 429 (see module docstring)."""
        scopes = [(f"tenant:{tenant}", cfg.tenant_limits(tenant))]
        if key_id:
            scopes.insert(0, (f"key:{key_id}", cfg.per_key))
        estimate = token_estimate(req, cfg)
        specs = bucket_specs(scopes, estimate)
        if self.store is None or not specs:
            return Ticket()
        try:
            decision = await self.store.take(specs)
        except StoreUnavailable as e:
            log.warning("rate limits not checked, admitting the request: %s", e)
            return Ticket()
        headers = ratelimit_headers(specs, decision)
        if not decision.allowed:
            raise _refusal(specs, decision, estimate, headers)
        return Ticket(token_specs=[s for s in specs if s.key.endswith(":tokens")], estimate=estimate,
                      headers=headers)

    async def settle(self, ticket: Ticket, used_tokens: int | None) -> None:
        """Charge ``used_tokens - ticket.estimate`` to the ticket's token buckets (a refund when
        the answer used fewer). ``None`` (no answer, e.g. a failure before any call): refund all."""
        if self.store is None or not ticket.token_specs:
            return
        delta = (used_tokens or 0) - ticket.estimate
        if delta == 0:
            return
        specs = [BucketSpec(s.key, s.capacity, s.rate_per_s, delta) for s in ticket.token_specs]
        try:
            await self.store.charge(specs)
        except StoreUnavailable as e:
            log.warning("token usage not settled: %s", e)

    async def aclose(self) -> None:
        """Close the store."""
        if self.store is not None:
            await self.store.aclose()


def _refusal(specs: list[BucketSpec], decision: Decision, estimate: int, headers: dict[str, str]) -> GatewayError:
    blocking = [s for s in specs if decision.levels[s.key] < s.cost]
    worst = max(blocking, key=lambda s: s.cost - decision.levels[s.key])
    scope, _, kind = worst.key.rpartition(":")
    unit = "requests" if kind == "requests" else "tokens"
    if math.isinf(decision.retry_after_s):
        return GatewayError(429, f"Request too large for {scope}: it needs about {estimate} tokens and the limit "
                                 f"is {int(worst.capacity)} tokens per minute. Send a shorter prompt or a lower "
                                 "max_tokens.", code="rate_limit_exceeded", headers=headers)
    return GatewayError(429, f"Rate limit reached for {scope} on {unit} per min: limit {int(worst.capacity)}, "
                             f"used {int(worst.capacity - decision.levels[worst.key])}, requested {int(worst.cost)}. "
                             f"Please try again in {duration_text(decision.retry_after_s)}.",
                        code="rate_limit_exceeded", retry_after_s=decision.retry_after_s, headers=headers)
