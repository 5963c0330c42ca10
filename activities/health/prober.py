"""Active probes (RESILIENCE.md R5.3, R11.3; Envoy pairs outlier detection with active checks).

Which targets (only those some route can send to), most urgent first: breaker open or half-open;
then degraded or down; then targets with no outcome for ``probe_idle_s`` (30 s), so a backup that
gets no traffic is still known to work before it is needed. A target is probed at most once per ``max(1 / probe rate, 1 s)`` by any worker
(probe rows are shared, so workers do not pile up on one target).

Budget: probes from this process stay within ``max(probe_share x request rate,
1 / probe_min_interval_s)`` per second: 5 % of traffic or one probe per 5 s, whichever is larger
(R11.3), as a token bucket. With N workers the floor is N probes per 5 s.

A probe is a real chat call through the target's adapter (the data plane: the 2023-11-08 OpenAI
outage left the model list working), asking for a one-word answer with ``probe_max_tokens``. Its
outcome goes to ``health_probes`` (never ``outcomes``: not a request) and into the monitor at once.
At most ``max_in_flight`` probes run at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping

import httpx
from sqlalchemy.exc import SQLAlchemyError

from activities.health.monitor import HealthMonitor
from activities.providers.base import ProviderCall, ProviderError
from activities.providers.registry import adapter_for
from activities.storage.health import HealthStore
from core.chat import ChatMessage, ChatRequest
from core.config import ConfigSource, routed_targets
from core.errors import ErrorClass
from core.health.budget import RateBucket
from core.health.signals import observe
from core.quality import check_answer

log = logging.getLogger("switchyard.health.probe")
PROBE_PROMPT = "Health check. Reply with the single word: ok"
_URGENCY = {"open": 0, "half_open": 1}


class Prober:
    """See module docstring. ``worker_id`` marks this process's probe rows."""

    def __init__(self, monitor: HealthMonitor, configs: ConfigSource, http: httpx.AsyncClient, store: HealthStore,
                 worker_id: str, *, env: Mapping[str, str] | None = None, max_in_flight: int = 2) -> None:
        self._monitor = monitor
        self._configs = configs
        self._http = http
        self._store = store
        self._worker_id = worker_id
        self._env = env if env is not None else os.environ
        self._bucket = RateBucket()
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()
        self._max = max_in_flight
        self.sent = 0
        self._routed_for: tuple[str | None, set[str]] = (None, set())

    def candidates(self, now: float) -> list[str]:
        """Targets that want a probe now, most urgent first (only targets some route uses)."""
        views = self._monitor.views()
        routed = self._routed()
        ranked = []
        for target, v in views.items():
            if target not in routed:
                continue
            s = self._monitor.settings(target)
            last = self._monitor.last_probe.get(target, 0.0)
            spacing = max(1.0, 1.0 / self._rate(s))
            if target in self._in_flight or now - last < spacing:
                continue
            if v.breaker in _URGENCY or v.state != "healthy":
                ranked.append((_URGENCY.get(v.breaker, 2), last, target))
            elif v.last_seen is None or now - v.last_seen >= s.probe_idle_s:
                ranked.append((3, v.last_seen or 0.0, target))
        return [t for _, _, t in sorted(ranked)]

    def _routed(self) -> set[str]:
        """:func:`core.config.routed_targets` of the running config, recomputed when it changes."""
        cfg, version = self._configs.current()
        if self._routed_for[0] != version:
            self._routed_for = (version, routed_targets(cfg))
        return self._routed_for[1]

    def _rate(self, s) -> float:  # type: ignore[no-untyped-def]
        return max(s.probe_share * self._monitor.request_rate(), 1.0 / s.probe_min_interval_s)

    def tick(self) -> None:
        """Start at most one probe if one is due and the budget allows it."""
        now = self._monitor.now()
        if len(self._tasks) >= self._max:
            return
        due = self.candidates(now)
        if not due:
            return
        target = due[0]
        if not self._bucket.take(now, self._rate(self._monitor.settings(target)), burst=2.0):
            return
        self._in_flight.add(target)
        self._monitor.last_probe[target] = now
        task = asyncio.create_task(self.probe(target), name=f"probe {target}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def probe(self, target: str) -> str:
        """Probe ``target`` once; returns the status class (``"ok"`` or an error class)."""
        try:
            return await self._probe(target)
        finally:
            self._in_flight.discard(target)

    async def _probe(self, target: str) -> str:
        cfg, _ = self._configs.current()
        t = cfg.target(target)
        provider = cfg.providers[t.provider]
        key = self._env.get(provider.api_key_env) if provider.api_key_env else None
        if provider.api_key_env and not key:
            return ErrorClass.AUTH.value  # nothing to learn: planning's cooldown handles missing keys
        s = self._monitor.settings(target)
        req = ChatRequest(messages=[ChatMessage(role="user", content=PROBE_PROMPT)], max_tokens=s.probe_max_tokens)
        started = time.perf_counter()
        status, http_status, tokens, flags, message = "ok", None, 0, "", ""
        try:
            async with asyncio.timeout(t.timeout_s):
                res = await adapter_for(provider.protocol).complete(self._http, ProviderCall(t, provider, key, req,
                                                                                              t.timeout_s))
            tokens = res.response.usage.completion_tokens
            flags = ",".join(check_answer(req, res.response))
        except ProviderError as e:
            status, http_status, message = e.error_class.value, e.status, e.message[:500]
        except TimeoutError:
            status, message = ErrorClass.TIMEOUT.value, f"no answer within {t.timeout_s:g} s"
        latency = (time.perf_counter() - started) * 1000.0
        now = self._monitor.now()
        self.sent += 1
        self._monitor.observe(observe(target, now, status, latency_ms=latency, output_tokens=tokens,
                                      quality_flags=flags, probe=True))
        try:
            await self._store.record_probe({"target": target, "status_class": status, "http_status": http_status,
                                            "latency_ms": latency, "completion_tokens": tokens, "quality_flags": flags,
                                            "message": message, "worker": self._worker_id, "created_at": now})
        except SQLAlchemyError as e:
            log.warning("probe of %s not stored: %s", target, e)
        return status

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
