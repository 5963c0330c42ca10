"""The planning activity: live config + cooldowns -> the plan of one request.

Runs as a *local* activity (no server round trip, ~35 ms saved per request on the dev server,
``shared/TEMPORAL.md`` section 1.2); its result is recorded in history as a marker, so every
request's plan (order, reasons, skipped targets, config version) can be audited and replayed.
"""

from __future__ import annotations

import hashlib
import random
import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.cache import ResponseCache
from activities.health.monitor import HealthMonitor
from activities.storage.cooldowns import CooldownStore
from activities.storage.drill_windows import DrillWindows
from activities.storage.rankings import RankingCache
from core.cache import cache_key, uncacheable_request
from core.canary import canary_draw
from core.config import ConfigSource, SwitchyardConfig
from core.errors import ErrorClass
from core.names import PLAN_ACTIVITY
from core.plan import ForcedTargetUnfit, Plan, PlanInput, UnknownRoute, build_plan


class PlanningActivities:
    """Planning with injected config holder and cooldown store; ``clock`` returns unix seconds.

    ``rankings``: the learned rankings cache (``None``: chains in configured order); ``rng``: the
    per-request draw that picks the first target by learned share; ``health``: the in-process
    health cache (``activities/health/monitor.py``; ``None``: health is not applied); ``cache``: the
    response cache (``activities/cache.py``; ``None``: no caching), looked up here so a hit costs no
    extra round trip and comes back inside the plan; ``drills``: the open live drill windows
    (``activities/storage/drill_windows.py``; ``None``: no live drills)."""

    def __init__(self, configs: ConfigSource, cooldowns: CooldownStore, *, clock=time.time,
                 rankings: RankingCache | None = None, rng: random.Random | None = None,
                 health: HealthMonitor | None = None, cache: ResponseCache | None = None,
                 drills: DrillWindows | None = None) -> None:
        self._configs = configs
        self._cooldowns = cooldowns
        self._clock = clock
        self._rankings = rankings
        self._rng = rng or random.Random()
        self._health = health
        self._cache = cache
        self._drills = drills

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, inp: PlanInput) -> Plan:
        """Build the plan; an unknown task type or a forced target that cannot serve the request
        raises a non-retryable ``InvalidRequest``."""
        try:
            return await self.make(inp, _health_draw())
        except ForcedTargetUnfit as e:
            raise ApplicationError(str(e), type=ErrorClass.INVALID_REQUEST.value, non_retryable=True) from None
        except UnknownRoute:
            routes = ", ".join(sorted(self._configs.current()[0].routes))
            raise ApplicationError(f"unknown task type {inp.task_type!r}; known routes: {routes}",
                                   type=ErrorClass.INVALID_REQUEST.value, non_retryable=True) from None

    async def make(self, inp: PlanInput, health_draw: float, record_as: str | None = None) -> Plan:
        """The plan of ``inp`` (the activity's body, also called by the gateway before a start,
        ``worker/gateway/plan_ahead.py``); ``health_draw`` in [0, 1) against traffic shares;
        ``record_as``: the id of the workflow about to start, outside an activity (a cache hit's
        outcome row is written under it and the canary draw hashes it; ``None``: the running
        activity's workflow). Raises :class:`core.plan.UnknownRoute`, :class:`core.plan.ForcedTargetUnfit`."""
        cfg, version = self._configs.current()
        if self._health is not None:
            await self._health.ensure_started()
        workflow_id = record_as if record_as is not None else activity.info().workflow_id
        plan = build_plan(cfg, inp, await self._cooldowns.active(), self._clock(), version,
                          rankings=await self._rankings.current() if self._rankings else None,
                          ranking_draw=self._rng.random(),
                          health=self._health.views() if self._health else None, health_draw=health_draw,
                          canary_draw=canary_draw(workflow_id),
                          live_drills=await self._drills.active() if self._drills else None)
        return await self._with_cache(cfg, inp, plan, record_as)

    async def _with_cache(self, cfg: SwitchyardConfig, inp: PlanInput, plan: Plan,
                          record_as: str | None = None) -> Plan:
        """Set the plan's cache fields: the entry key (store, stale) and, unless the caller skips
        the lookup, a fresh hit. ``inp.cache_digest`` is ``None`` when the request is not cacheable."""
        ccfg = cfg.routes[plan.route].cache
        if self._cache is None or ccfg.mode == "off":
            return plan
        if (inp.cache_digest is None or inp.cache_policy in ("no-store", "off")
                or uncacheable_request(inp.temperature, ccfg) is not None):
            plan.cache_status = "bypass"
            return plan
        key = cache_key(plan.route, inp.tenant, inp.cache_digest)
        plan.cache_key = key
        if inp.cache_policy in ("no-cache", "refresh"):
            plan.cache_status = "bypass"
            return plan
        plan.stale_key = key if ccfg.stale_if_error_s > 0 else None
        plan.cache_hit = await self._cache.lookup(plan.route, inp.tenant, key, ccfg, record_as=record_as)
        if plan.cache_hit is None and self._cache.semantic is not None:
            plan.cache_hit = await self._cache.semantic.lookup(plan.route, inp, key, ccfg, record_as=record_as)
        plan.cache_status = "hit" if plan.cache_hit is not None else "miss"
        return plan


def _health_draw() -> float:
    """The request's draw in [0, 1) against traffic shares: a hash of the workflow id, run id and
    this planning call's activity id, so a retried planning step draws the same (``core/health/routing.py``)."""
    info = activity.info()
    key = f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2.0**64
