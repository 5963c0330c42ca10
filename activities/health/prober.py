"""Active probes (RESILIENCE.md R5.3, R11.3; Envoy pairs outlier detection with active checks).

Which targets (only those some route can send to), most urgent first: breaker open or half-open;
then degraded or down; then idle targets, with no outcome and no call in flight for
``probe_idle_s`` (30 s), so a backup that gets no traffic is still known to work before it is
needed. A target is probed at most once per ``max(1 / probe rate, 1 s)`` by any worker (probe rows
are shared, so workers do not pile up on one target), and never while this process has a live call
to it in flight (:meth:`HealthMonitor.busy`): that call is evidence on its way, reported at the
latest when its own timeout fires, so a hung target whose requests are all stuck gets no probes
stacked on them. A call past its timeout plus ``OVERDUE_GRACE_S`` (5 s) no longer blocks probes
(its report is not coming: a leaked token or a stalled process).

Budget: probes from this process stay within ``max(probe_share x request rate,
1 / probe_min_interval_s)`` per second: 5 % of traffic or one probe per 5 s, whichever is larger
(R11.3), as a token bucket. With N workers the floor is N probes per 5 s.

A probe is a real chat call through the target's adapter (the data plane: the 2023-11-08 OpenAI
outage left the model list working), asking for a one-word answer with ``probe_max_tokens``;
streamed for targets with the ``streaming`` capability, where the first token must arrive within
the target's first-token timeout (``activities/health/probe_call.py``). Its outcome goes to
``health_probes`` (never ``outcomes``: not a request; a streamed probe's TTFT is in its
``message``, "first token N ms", as the table has no TTFT column) and into the monitor at once,
TTFT included. At most ``max_in_flight`` probes run at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Mapping

import httpx
from sqlalchemy.exc import SQLAlchemyError

from activities.health.monitor import HealthMonitor
from activities.health.probe_call import ProbeResult, probe_call
from activities.providers.base import ProviderCall
from activities.storage.health import HealthStore
from core.chains import routed_targets
from core.chat import ChatMessage, ChatRequest
from core.config import ConfigSource
from core.errors import ErrorClass
from core.health.budget import RateBucket
from core.health.signals import observe

log = logging.getLogger("switchyard.health.probe")
PROBE_PROMPT = "Health check. Reply with the single word: ok"
_URGENCY = {"open": 0, "half_open": 1}
RESULTS_KEPT = 100


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
        #: The last ``RESULTS_KEPT`` probes of this process: (target, result), oldest first.
        self.results: deque[tuple[str, ProbeResult]] = deque(maxlen=RESULTS_KEPT)
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
            if target in self._in_flight or now - last < spacing or self._monitor.busy(target, now):
                continue
            if v.breaker in _URGENCY or v.state != "healthy":
                ranked.append((_URGENCY.get(v.breaker, 2), last, target))
                continue
            active = max(v.last_seen or 0.0, self._monitor.calls.last_ended(target) or 0.0)
            if now - active >= s.probe_idle_s:
                ranked.append((3, active, target))
        return [t for _, _, t in sorted(ranked)]

    def _routed(self) -> set[str]:
        """:func:`core.config.routed_targets` of the running config that serve chat (an embedding
        target cannot answer a chat probe), recomputed when the config changes."""
        cfg, version = self._configs.current()
        if self._routed_for[0] != version:
            chat = {t.id for t in cfg.targets if "chat" in t.capabilities}
            self._routed_for = (version, routed_targets(cfg) & chat)
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
        res = await probe_call(self._http, ProviderCall(t, provider, key, req, t.timeout_s),
                               streamed="streaming" in t.capabilities)
        now = self._monitor.now()
        self.sent += 1
        self.results.append((target, res))
        self._monitor.observe(observe(target, now, res.status, latency_ms=res.latency_ms, ttft_ms=res.ttft_ms,
                                      output_tokens=res.tokens, quality_flags=res.flags, probe=True))
        try:
            await self._store.record_probe({"target": target, "status_class": res.status,
                                            "http_status": res.http_status, "latency_ms": res.latency_ms,
                                            "completion_tokens": res.tokens, "quality_flags": res.flags,
                                            "message": _message(res), "worker": self._worker_id, "created_at": now})
        except SQLAlchemyError as e:
            log.warning("probe of %s not stored: %s", target, e)
        return res.status

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _message(res: ProbeResult) -> str:
    """The probe row's message: the failure, plus the streamed probe's TTFT when it had one."""
    ttft = f"first token {res.ttft_ms:.0f} ms" if res.ttft_ms is not None else ""
    return "; ".join(m for m in (res.message, ttft) if m)[:500]
