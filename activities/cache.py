"""The response cache's I/O: lookup (from the planning activity), store (from the attempt
activity) and the serve-stale activity (when the whole chain failed).

``ResponseCache`` wraps :class:`activities.storage.cache_store.CacheStore` with the route's policy
(``core/cache.py`` :class:`CacheConfig`): fresh or stale, tiered TTLs, the outcome row of a hit
(target ``cache``, zero billed usage, ``saved_usd`` = the original answer's cost, written before the
answer returns). The hit count / TTL-tier update of a hit is written after the answer has gone
(``bench/cache_hit.py``: it was most of the lookup's 9.5 ms p50 on SQLite). Every backend
error is a miss (the store logs it); nothing here raises into the request path.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from typing import Any

from temporalio import activity

from activities import metrics
from activities.storage.cache_store import CacheEntry, CacheStore
from activities.storage.outcomes import OutcomeRow, OutcomeStore
from core.cache import CACHE_TARGET, CacheConfig, CacheHit
from core.chat import ChatResponse, Usage
from core.config import ConfigSource
from core.names import CACHE_STALE_ACTIVITY
from core.plan import StaleLookup


class ResponseCache:
    """Route-aware cache over ``store``; hits are recorded in ``outcomes``. ``clock``: unix s."""

    def __init__(self, store: CacheStore, outcomes: OutcomeStore, *, clock=time.time) -> None:
        self.store = store
        self._outcomes = outcomes
        self._clock = clock
        self._pending: set[asyncio.Task[None]] = set()
        #: Semantic lookups over these entries (``activities/semantic_cache.py``; None: exact only).
        self.semantic: Any = None

    def _later(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a best-effort write after the answer has gone (the store logs its own errors)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the writes still running (on shutdown, and in tests)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def lookup(self, route: str, tenant: str, key: str, cfg: CacheConfig, *,
                     stale: bool = False, record_as: str | None = None,
                     similarity: float | None = None, record_later: bool = False) -> CacheHit | None:
        """A fresh entry (``stale=False``), or an expired one still within ``stale_if_error_s``
        (``stale=True``); ``None`` otherwise. A fresh hit extends the entry's TTL tier. The hit's
        outcome row is keyed by the running activity's workflow, or by ``record_as`` (an id of the
        caller's choosing) outside an activity (the gateway's shedding hook). ``similarity``: the
        cosine similarity of a semantic match (``activities/semantic_cache.py``), kept on the hit.
        ``record_later``: write the outcome row after the answer has gone (the gateway's hit path;
        :meth:`drain` waits for it)."""
        started = time.perf_counter()
        entry = await self.store.get(key, tenant, route)
        now = self._clock()
        if entry is None:
            metrics.record_cache_lookup(route, "miss")
            return None
        fresh = now < entry.expires_at
        if not fresh and not (stale and now < entry.stale_until):
            metrics.record_cache_lookup(route, "miss")
            return None
        metrics.record_cache_lookup(route, "hit" if fresh else "stale")
        if fresh:
            entry.hits += 1
            entry.last_hit_at = now
            entry.expires_at = max(entry.expires_at, now + cfg.ttl(entry.hits))
            entry.stale_until = max(entry.stale_until, entry.expires_at + cfg.stale_if_error_s)
            self._later(self.store.served(entry))  # hit count and TTL tier: off the hit path
        hit = CacheHit(response=_served_response(entry, now), state="hit" if fresh else "stale",
                       age_s=max(0.0, now - entry.created_at), saved_usd=entry.cost_usd,
                       source_target=entry.source_target, similarity=similarity)
        record = self._record(hit, route, tenant, (time.perf_counter() - started) * 1000.0, record_as)
        if record_later:
            self._later(record)
        else:
            await record
        return hit

    async def put(self, route: str, tenant: str, key: str, cfg: CacheConfig, response: ChatResponse,
                  cost_usd: float, target: str) -> None:
        """Store a complete answer (the caller checked :func:`core.cache.uncacheable_answer`)."""
        now = self._clock()
        expires = now + cfg.ttl(0)
        await self.store.put(CacheEntry(key=key, tenant=tenant, route=route, source_target=target,
                                        body=response.model_dump_json(), cost_usd=cost_usd, created_at=now,
                                        expires_at=expires, stale_until=expires + cfg.stale_if_error_s,
                                        hits=0, last_hit_at=now))

    async def _record(self, hit: CacheHit, route: str, tenant: str, latency_ms: float, record_as: str | None) -> None:
        """The outcome row of a served entry (``seq`` 0: before any attempt of the workflow)."""
        if record_as is None:
            info = activity.info()
            workflow_id, run_id = info.workflow_id or "", info.workflow_run_id or ""
        else:
            workflow_id, run_id = record_as, ""
        provider, _, rest = hit.source_target.partition("/")
        try:
            await self._outcomes.record(OutcomeRow(
                workflow_id=workflow_id, run_id=run_id, seq=0, try_no=1,
                target=CACHE_TARGET, provider=CACHE_TARGET, model=rest.rpartition("@")[0] or rest,
                region="", task_type=route, tenant=tenant, status_class="ok", latency_ms=latency_ms,
                cost_usd=0.0, saved_usd=hit.saved_usd, cache=hit.state, created_at=self._clock(),
                message=(f"served from cache{_match(hit)}, answered first by {hit.source_target} "
                         f"{hit.age_s:.0f} s ago")[:500]))
        except Exception:  # noqa: BLE001 - the audit row must not fail a served answer
            activity.logger.warning("outcome row of a cache hit failed", exc_info=True)


def _match(hit: CacheHit) -> str:
    return "" if hit.similarity is None else f" (semantic match, similarity {hit.similarity:.3f})"


def _served_response(entry: CacheEntry, now: float) -> ChatResponse:
    """The stored answer as served: its own id, ``created`` now, and zero usage (nothing billed)."""
    resp = ChatResponse.model_validate_json(entry.body)
    return resp.model_copy(update={"id": f"chatcmpl-cache-{uuid.uuid4().hex[:24]}", "created": int(now),
                                   "usage": Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)})


class CacheActivities:
    """The serve-stale activity (a local activity, run only when the chain failed)."""

    def __init__(self, configs: ConfigSource, cache: ResponseCache) -> None:
        self._configs = configs
        self._cache = cache

    @activity.defn(name=CACHE_STALE_ACTIVITY)
    async def stale(self, inp: StaleLookup) -> CacheHit | None:
        """An entry of ``inp.key`` fresh or within the route's ``stale_if_error_s``; ``None`` otherwise."""
        cfg, _ = self._configs.current()
        route = cfg.routes.get(inp.route)
        if route is None or route.cache.stale_if_error_s <= 0:
            return None
        return await self._cache.lookup(inp.route, inp.tenant, inp.key, route.cache, stale=True)
