"""Response cache: the route's ``cache`` block, the key of a request, and what may be stored.

Pure (no I/O, importable inside workflows). The lookup and the store are I/O and live in
``activities/cache.py`` (lookup in the planning local activity, store in the attempt activity);
the storage itself in ``activities/storage/cache_store.py``. Design and figures: ``docs/CACHE.md``.

Key (:func:`cache_key`): SHA-256 over the route, the tenant and :func:`request_digest` (the request
normalised: every field that can change the answer - messages, tools, tool_choice, response_format,
temperature, top_p, max_tokens, max_completion_tokens, stop, seed, n and any provider extra - in
canonical JSON; only ``model``, ``stream``, ``stream_options``, ``user`` and ``metadata`` are left
out: the route picks the model and the others do not change the answer). Values are complete
answers only (:func:`uncacheable_answer`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.chat import ChatRequest, ChatResponse
from core.semantic import SemanticCacheConfig

CacheMode = Literal["off", "exact", "semantic"]
#: Per-request cache control (``RequestInput.cache``), from ``Cache-Control`` / ``x-switchyard-cache``:
#: ``default`` look up and store; ``no-cache`` / ``refresh`` skip the lookup, store the new answer;
#: ``no-store`` / ``off`` neither look up nor store.
CachePolicy = Literal["default", "no-cache", "refresh", "no-store", "off"]
#: How a request met the cache (trace ``cache`` field, ``x-switchyard-cache`` header).
CacheStatus = Literal["hit", "stale", "miss", "bypass"]

#: The ``target_used`` of an answer served from the cache.
CACHE_TARGET = "cache"
#: Request fields that never change the answer (left out of the key).
_NOT_IN_KEY = {"model", "stream", "stream_options", "user", "metadata"}
#: Finish reasons of a complete answer (OpenAI's values; adapters map the others onto them).
_COMPLETE = {"stop", "tool_calls"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CacheConfig(_Strict):
    """A route's ``cache`` block (``routes.NAME.cache``).

    ``mode``: ``off`` (default), ``exact``, or ``semantic`` (exact first, then a question close
    enough in meaning, per the ``semantic`` block: ``core/semantic.py``). Tiered TTLs (s): a new
    entry lives ``ttl_s``; once it has been served ``popular_after_hits`` times it lives
    ``popular_ttl_s`` from its latest hit;
    ``evergreen_ttl_s`` (set for routes whose answers do not age, e.g. FAQ) replaces both.
    ``max_temperature``: a request asking for a higher temperature is non-deterministic and is not
    cached unless ``allow_nondeterministic`` (no temperature = the route's default, cached).
    ``stale_if_error_s``: how long past its expiry an entry may still be served, labelled stale,
    when every target of the chain fails or is open (0: never). ``gateway_hits``: the gateway
    answers a fresh exact hit itself, before admission control and without starting a workflow
    (``worker/gateway/cache_hook.py``; the outcome row is its audit, written after the answer);
    ``false``: every hit runs as a workflow, visible in the Temporal UI. Clients of the Temporal
    API (CLI, batch, ``SwitchyardClient``) always look up in the workflow.
    """

    mode: CacheMode = "off"
    ttl_s: float = Field(default=300.0, gt=0, le=30 * 86_400)
    popular_after_hits: int = Field(default=3, ge=1)
    popular_ttl_s: float = Field(default=3600.0, gt=0, le=30 * 86_400)
    evergreen_ttl_s: float | None = Field(default=None, gt=0, le=365 * 86_400)
    max_temperature: float = Field(default=0.5, ge=0, le=2)
    allow_nondeterministic: bool = False
    stale_if_error_s: float = Field(default=0.0, ge=0, le=30 * 86_400)
    semantic: SemanticCacheConfig | None = None
    gateway_hits: bool = True

    @model_validator(mode="after")
    def _semantic_block(self) -> CacheConfig:
        if self.mode == "semantic" and self.semantic is None:
            raise ValueError("mode semantic needs a semantic block: {embed_with: ROUTE | local, threshold: 0.9}")
        return self

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_bool(cls, v: object) -> object:
        return "off" if v is False else v

    def ttl(self, hits: int) -> float:
        """TTL in s of an entry served ``hits`` times so far (see class docstring)."""
        if self.evergreen_ttl_s is not None:
            return self.evergreen_ttl_s
        return self.popular_ttl_s if hits >= self.popular_after_hits else self.ttl_s


class CacheStoreConfig(_Strict):
    """Top-level ``cache_store``: where entries live, shared by every route.

    The Switchyard database (SQLite or PostgreSQL) always holds the durable entries;
    ``redis_url`` adds Redis as the shared hot tier across gateway replicas (read-through,
    write-through; ``None``: no Redis). ``max_entries``: bound of the database table; past it the
    least recently used entries are evicted (checked every ``evict_every`` stores).
    ``memory_entries`` / ``memory_ttl_s``: each process also keeps its most recently used entries
    in memory (LRU, 0: none) for at most ``memory_ttl_s`` s, so a hit costs no I/O and an entry
    another replica refreshed is served at most that long. A backend error is a miss, never a
    failed request.
    """

    redis_url: str | None = None
    max_entries: int = Field(default=100_000, ge=10, le=100_000_000)
    memory_entries: int = Field(default=1024, ge=0, le=1_000_000)
    memory_ttl_s: float = Field(default=5.0, gt=0, le=300)
    evict_every: int = Field(default=100, ge=1, le=100_000)


class CacheHit(BaseModel):
    """An answer served from the cache. ``state``: ``hit`` (fresh) or ``stale``; ``age_s``: since
    it was stored (s); ``saved_usd``: what the original answer cost (USD), not billed again;
    ``source_target``: the target that produced it; ``similarity``: the cosine similarity of the
    question it was matched on (``None``: an exact match)."""

    response: ChatResponse
    state: Literal["hit", "stale"]
    age_s: float
    saved_usd: float
    source_target: str
    similarity: float | None = None


def request_digest(req: ChatRequest) -> str:
    """SHA-256 hex of the normalised request (see module docstring). Deterministic: the same
    request always gives the same digest (canonical JSON, sorted keys, ``None`` fields dropped)."""
    body = req.model_dump(mode="json", exclude_none=True, exclude=_NOT_IN_KEY)
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def cache_key(route: str, tenant: str, digest: str) -> str:
    """The entry key: SHA-256 hex over route, tenant and request digest (tenants never share keys)."""
    return hashlib.sha256(f"v1\x00{route}\x00{tenant}\x00{digest}".encode()).hexdigest()


def uncacheable_request(temperature: float | None, cfg: CacheConfig) -> str | None:
    """Why a request with this ``temperature`` may not use the route's cache (``None``: it may)."""
    if cfg.mode == "off":
        return "route cache off"
    if temperature is not None and temperature > cfg.max_temperature and not cfg.allow_nondeterministic:
        return f"temperature {temperature:g} > max_temperature {cfg.max_temperature:g}"
    return None


def uncacheable_answer(resp: ChatResponse, quality_flags: Sequence[str], *, rescued: bool) -> str | None:
    """Why this answer may not be stored (``None``: it may). Never stored: answers with quality
    flags, rescued (glued) streams, incomplete answers (``length``, ``content_filter`` or any finish
    reason other than ``stop``/``tool_calls``) and answers without choices."""
    if quality_flags:
        return "quality flags: " + ",".join(quality_flags)
    if rescued:
        return "rescued stream"
    if not resp.choices:
        return "no choices"
    bad = [c.finish_reason for c in resp.choices if c.finish_reason not in _COMPLETE]
    if bad:
        return f"finish_reason {bad[0]}"
    return None
