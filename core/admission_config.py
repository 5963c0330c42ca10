"""Configuration of admission and load shedding (``docs/SHEDDING.md``): the ``admission`` block
of the config file and a route's ``overload`` block.

Shape::

    admission:
      store: database | redis | off      # where rate-limit buckets live (shared by every gateway)
      redis_url: redis://127.0.0.1:6379/0
      per_key:    {requests_per_min: 600, tokens_per_min: 200000}   # each gateway API key
      per_tenant: {requests_per_min: 3000, tokens_per_min: 1000000} # each tenant, all its keys
      tenants:                            # per-tenant overrides and default priority
        acme: {requests_per_min: 100, tokens_per_min: 50000, tier: high}
      default_output_tokens: 256          # output estimate when a request sets no max_tokens

    routes:
      support_reply:
        overload:
          max_in_flight: 64               # requests of this route at once, per gateway process
          shares: {critical: 1.0, high: 0.9, normal: 0.75, low: 0.5, batch: 0.25}
          brownout_route: support_cheap   # serve shed requests there instead of a 429
          retry_after_s: 1.0

A limit left ``null`` is not enforced. Pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.priority import KEYS, PriorityName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimits(_Strict):
    """Requests and tokens (prompt + output) per minute; ``None``: unlimited."""

    requests_per_min: float | None = Field(default=None, gt=0)
    tokens_per_min: float | None = Field(default=None, gt=0)


class TenantLimits(RateLimits):
    """One tenant's limits (override :attr:`AdmissionConfig.per_tenant` field by field) and its
    ``tier``: the priority of its requests that name none (``core/priority.py``)."""

    tier: PriorityName | None = None


class AdmissionConfig(_Strict):
    """Rate limits per gateway key and per tenant, shared across gateway replicas.

    ``store``: ``database`` (default: the Switchyard database, works with nothing extra),
    ``redis`` (at ``redis_url``, one Lua script per request: the choice for many replicas) or
    ``off``. ``default_output_tokens``: the output part of the token estimate when a request sets
    no ``max_tokens`` (tokens; settled against the real usage after the call)."""

    store: Literal["database", "redis", "off"] = "database"
    redis_url: str = "redis://127.0.0.1:6379/0"
    per_key: RateLimits = Field(default_factory=RateLimits)
    per_tenant: RateLimits = Field(default_factory=RateLimits)
    tenants: dict[str, TenantLimits] = Field(default_factory=dict)
    default_output_tokens: int = Field(default=256, ge=0, le=1_000_000)

    @field_validator("store", mode="before")
    @classmethod
    def _yaml_bool(cls, v: object) -> object:
        return "off" if v is False else v

    def tenant_limits(self, tenant: str) -> RateLimits:
        """The limits of ``tenant``: its own entry's fields, else :attr:`per_tenant`'s."""
        own = self.tenants.get(tenant)
        if own is None:
            return self.per_tenant
        return RateLimits(requests_per_min=own.requests_per_min or self.per_tenant.requests_per_min,
                          tokens_per_min=own.tokens_per_min or self.per_tenant.tokens_per_min)

    def tier(self, tenant: str) -> str | None:
        """The tenant's default priority name, or ``None``."""
        own = self.tenants.get(tenant)
        return own.tier if own else None


#: Share of ``max_in_flight`` each priority may fill (steeply lower for lower classes, so a small
#: overload touches only the lowest; RESILIENCE.md R9.4: the critical classes guaranteed ~90%).
DEFAULT_SHARES = {"critical": 1.0, "high": 0.9, "normal": 0.75, "low": 0.5, "batch": 0.25}


class OverloadConfig(_Strict):
    """Load shedding on one route, per gateway process.

    ``max_in_flight``: requests of this route being served at once (the chain's capacity); a
    request of priority P is admitted while fewer than ``max_in_flight * shares[P]`` are in flight,
    so the lowest priorities are shed first and ``critical`` may use all of it. A shed request is
    served by ``brownout_route`` (a route with a cheaper chain, under its own ``overload`` limits)
    when one is named and has room, else answered at once with 429 and ``Retry-After:
    retry_after_s`` (seconds): nothing is queued, so no request waits past its deadline to be
    told no."""

    max_in_flight: int = Field(ge=1, le=100_000)
    shares: dict[PriorityName, float] = Field(default_factory=lambda: dict(DEFAULT_SHARES))
    brownout_route: str | None = None
    retry_after_s: float = Field(default=1.0, gt=0, le=600)

    @field_validator("shares")
    @classmethod
    def _all_shares(cls, v: dict[str, float]) -> dict[str, float]:
        for name, share in v.items():
            if not 0 < share <= 1:
                raise ValueError(f"share of {name!r} must be in (0, 1]")
        return {**DEFAULT_SHARES, **v}

    def capacity(self, priority_key: int) -> float:
        """In-flight requests below which a request of this Temporal priority key is admitted."""
        name = next(n for n, k in KEYS.items() if k == priority_key)
        return self.max_in_flight * self.shares[name]
