"""The alert evaluator: every ``alerts.interval_s``, advance each (rule, subject) and notify.

One :meth:`AlertEvaluator.tick`:

1. take or renew the lease (``alert_lease``, 3 intervals long): only the holder evaluates, so
   several workers never send the same alert twice; a holder that dies is replaced after its lease;
2. read the windows of every rule (``activities/alerts/signals.py``), the targets' latency
   baselines (``health_targets``, the health layer's self-baseline p50) and which targets the
   health layer has down or open;
3. step each (rule, subject) state machine (``core.alerts.step``) from its stored state;
4. store changed states and the firing/resolved events, log each event, and POST it to the
   webhook (Slack's incoming-webhook JSON: ``{"text": ...}``); a webhook failure is logged and the
   event stays ``notified = false`` (retried on the next tick, up to 3 times in all).

``clock`` is injectable (tests and ``bench/alerts.py`` replay compressed scenarios).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.alerts.signals import route_stats, target_stats
from activities.storage.alert_tables import alert_events, alert_lease, alert_states
from activities.storage.health import HealthStore
from activities.storage.upsert import upsert_stmt
from core.alerts import TARGET_RULES, AlertEvent, AlertRule, AlertState, Signal, WindowStats, step
from core.alerts_config import AlertsConfig
from core.config import ConfigSource

log = logging.getLogger("switchyard.alerts")
LEASE = "alerts"
MAX_NOTIFY_TRIES = 3


class AlertEvaluator:
    """See module docstring. ``env``: where ``alerts.webhook_url_env`` is looked up."""

    def __init__(self, engine: AsyncEngine, configs: ConfigSource, http: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time, env: Mapping[str, str] | None = None,
                 rules: dict[str, AlertRule] | None = None) -> None:
        self._engine, self._configs, self._http, self._clock = engine, configs, http, clock
        self._env = os.environ if env is None else env
        self._rules = rules
        self.holder = f"alerts-{uuid.uuid4().hex[:8]}"
        self._tries: dict[int, int] = {}

    @property
    def config(self) -> AlertsConfig:
        return self._configs.current()[0].alerts

    def rules(self) -> dict[str, AlertRule]:
        """The enabled rules (the constructor's override, else the config's)."""
        rules = self._rules if self._rules is not None else self.config.rules
        return {k: r for k, r in rules.items() if r.enabled}

    async def tick(self) -> list[AlertEvent]:
        """One evaluation; returns the events it produced (empty when another worker holds the lease)."""
        now = self._clock()
        if not await self._lease(now):
            return []
        states = await self._states()
        views = await HealthStore(self._engine).current()
        baselines = {t: v.baseline_p50_ms for t, v in views.items()}
        down = {t for t, v in views.items() if v.enforced and (v.state == "down" or v.breaker == "open")}
        events: list[AlertEvent] = []
        changed: list[AlertState] = []
        windows: dict[tuple[str, float, float], dict[str, WindowStats]] = {}
        for name, rule in self.rules().items():
            signals = await self._signals(rule, now, baselines, windows, down)
            for subject in set(signals) | {s for (r, s) in states if r == name}:
                st = states.get((name, subject), AlertState(rule=name, subject=subject, since=now))
                sig = signals.get(subject, Signal(long=WindowStats(), short=WindowStats()))
                new, event = step(name, rule, st, sig, now)
                if new != st:
                    changed.append(new)
                if event is not None:
                    events.append(event)
        await self._store(changed, events)
        await self._notify()
        return events

    async def run(self) -> None:
        """Tick every ``alerts.interval_s`` until cancelled; a failed tick (database down) is
        logged and the next one tries again."""
        while True:
            if self.config.enabled:
                try:
                    await self.tick()
                except (sa.exc.SQLAlchemyError, OSError) as e:
                    log.warning("alert evaluation failed: %s", e)
            await asyncio.sleep(self.config.interval_s)

    async def _signals(self, rule: AlertRule, now: float, baselines: dict[str, float | None],
                       cache: dict[tuple[str, float, float], dict[str, WindowStats]],
                       down: set[str]) -> dict[str, Signal]:
        per = "target" if rule.kind in TARGET_RULES else "route"

        async def window(since: float, until: float) -> dict[str, WindowStats]:
            key = (per, since, until)
            if key not in cache:
                read = target_stats if per == "target" else route_stats
                cache[key] = await read(self._engine, since, until)
            return cache[key]

        long = await window(now - rule.long_window_s, now)
        short = await window(now - rule.short_window_s, now)
        base: dict[str, WindowStats] = {}
        needs_base = rule.kind in ("cache_hit_drop", "cost_per_request") or (  # latency: the health baseline
            rule.kind == "latency_spike" and not all(baselines.get(s) for s in set(long) | set(short)))
        if needs_base:
            base = await window(now - rule.long_window_s - rule.baseline_s, now - rule.long_window_s)
        subjects = set(long) | set(short) | (down if rule.kind == "error_rate" else set())
        return {s: Signal(long=long.get(s, WindowStats()), short=short.get(s, WindowStats()),
                          baseline=base.get(s, WindowStats()), baseline_p50_ms=baselines.get(s),
                          down=rule.kind == "error_rate" and s in down)
                for s in subjects}

    async def _lease(self, now: float) -> bool:
        until = now + 3 * self.config.interval_s
        async with self._engine.begin() as conn:
            row = (await conn.execute(sa.select(alert_lease).where(alert_lease.c.name == LEASE))).first()
            if row is None:
                try:
                    await conn.execute(sa.insert(alert_lease).values(name=LEASE, holder=self.holder, until=until))
                    return True
                except sa.exc.IntegrityError:
                    return False
            res = await conn.execute(sa.update(alert_lease).where(
                alert_lease.c.name == LEASE,
                sa.or_(alert_lease.c.holder == self.holder, alert_lease.c.until < now)).values(
                holder=self.holder, until=until))
            return res.rowcount == 1

    async def _states(self) -> dict[tuple[str, str], AlertState]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(alert_states))).mappings().all()
        return {(r["rule"], r["subject"]): AlertState(**r) for r in rows}

    async def _store(self, changed: list[AlertState], events: list[AlertEvent]) -> None:
        if not changed and not events:
            return
        async with self._engine.begin() as conn:
            for st in changed:
                await conn.execute(upsert_stmt(conn, alert_states, st.model_dump(), ("rule", "subject")))
            for ev in events:
                await conn.execute(sa.insert(alert_events).values(**{**ev.model_dump(), "message": ev.message[:500]}))
        for ev in events:
            (log.warning if ev.status == "firing" else log.info)("alert %s %s: %s", ev.rule, ev.status, ev.message)

    async def _notify(self) -> None:
        var = self.config.webhook_url_env
        url = self._env.get(var) if var else None
        if not url:
            return
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(alert_events).where(alert_events.c.notified.is_(False))
                                       .order_by(alert_events.c.id).limit(50))).mappings().all()
        for r in rows:
            tries = self._tries.get(r["id"], 0)
            if tries >= MAX_NOTIFY_TRIES:
                continue
            self._tries[r["id"]] = tries + 1
            icon = ":rotating_light:" if r["status"] == "firing" else ":white_check_mark:"
            body = {"text": f"{icon} [{r['status'].upper()}] {r['rule']} on {r['subject']}: {r['message']}",
                    "switchyard": {k: r[k] for k in ("rule", "kind", "subject", "status", "value", "threshold",
                                                     "at", "fired_at")}}
            try:
                resp = await self._http.post(url, json=body, timeout=5.0)
                resp.raise_for_status()
            except httpx.HTTPError as e:
                log.warning("alert webhook failed (try %d of %d): %s", tries + 1, MAX_NOTIFY_TRIES,
                            type(e).__name__)
                continue
            async with self._engine.begin() as conn:
                await conn.execute(sa.update(alert_events).where(alert_events.c.id == r["id"]).values(notified=True))
