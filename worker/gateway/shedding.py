"""Priority load shedding per route in one gateway process (``docs/SHEDDING.md``).

Each route with an ``overload`` block (``core/admission_config.py``) has an in-flight count in
this process. :meth:`Shedder.enter` admits a request of priority P while fewer than
``max_in_flight * shares[P]`` of the route's requests are in flight, so under overload the lowest
priority is shed first and ``critical`` may fill the whole limit. The route also counts as full
for every priority below ``critical`` when **every target of its chain is at its adaptive
concurrency limit** in this process (``activities/concurrency.py``): such a request could only
end in a 503 after its workflow started, so it is shed (or browned out) at the door instead.
A request over its share is, in order: answered by the **cache hook** when one is installed and has an answer
(:attr:`Shedder.serve_from_cache`, for the cache to plug into), moved to the route's
``brownout_route`` when that route has room for it (``x-switchyard-brownout: <route> -> <brownout>``),
else refused at once with 429, ``Retry-After`` and ``x-switchyard-shed`` (nothing waits in a
queue, so no request waits past its deadline to be told no). Shed and brownout decisions are logged
and set on the current OpenTelemetry span; a brownout is also in the workflow input's metadata
(``brownout_from``), so the Temporal history shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from opentelemetry import trace
from starlette.responses import Response

from activities import metrics
from activities.concurrency import TargetLimiters
from core.chains import expand_chain
from core.config import SwitchyardConfig
from core.priority import KEYS, priority_name
from worker.gateway.errors import GatewayError
from worker.gateway.inputs import GatewayRequest

log = logging.getLogger("switchyard.gateway")

SHED_HEADER = "x-switchyard-shed"
BROWNOUT_HEADER = "x-switchyard-brownout"
PRIORITY_HEADER_OUT = "x-switchyard-priority"

#: The cache's hook: the answer for a request that would be shed, or ``None`` (then brownout/429).
CacheHook = Callable[[GatewayRequest], Awaitable[Response | None]]


@dataclass
class Slot:
    """A request's place in its route's in-flight count; :meth:`release` exactly once."""

    shedder: Shedder | None
    route: str
    headers: dict[str, str]
    cached: Response | None = None
    _released: bool = False

    def release(self) -> None:
        """Leave the in-flight count (idempotent)."""
        if not self._released and self.shedder is not None:
            self.shedder.in_flight[self.route] -= 1
        self._released = True


class Shedder:
    """In-flight counts per route and the shedding decision (see module docstring)."""

    def __init__(self, serve_from_cache: CacheHook | None = None,
                 limiters: TargetLimiters | None = None) -> None:
        self.in_flight: dict[str, int] = {}
        self.limiters = limiters
        self.serve_from_cache = serve_from_cache
        self.shed_count: dict[str, int] = {}  # priority name -> requests refused, for benches and tests

    def _fits(self, cfg: SwitchyardConfig, route: str, priority: int) -> bool:
        overload = cfg.routes[route].overload
        if overload is None:
            return True
        if priority > KEYS["critical"] and self._saturated(cfg, route):
            return False
        return self.in_flight.get(route, 0) < overload.capacity(priority)

    def _saturated(self, cfg: SwitchyardConfig, route: str) -> bool:
        """Every target of the route's chain is at its adaptive concurrency limit here."""
        if self.limiters is None or cfg.concurrency.mode == "off":
            return False
        targets = [t.id for group in expand_chain(cfg, route) for t in group]
        return bool(targets) and all(n >= limit for limit, n in map(self.limiters.limit, targets))

    def _hold(self, route: str, headers: dict[str, str]) -> Slot:
        self.in_flight[route] = self.in_flight.get(route, 0) + 1
        return Slot(self, route, headers)

    async def enter(self, greq: GatewayRequest, cfg: SwitchyardConfig, *,
                    cache: bool = True) -> tuple[GatewayRequest, Slot]:
        """The request to run (its route possibly moved to the brownout route) and its slot, or a
        slot carrying the cache's answer (only with ``cache``: the hook answers in Chat
        Completions' shape); raises :class:`GatewayError` 429 when shed."""
        priority = greq.inp.priority or KEYS["normal"]
        name = priority_name(priority)
        route = greq.route
        overload = cfg.routes[route].overload
        if overload is None:
            return greq, Slot(None, route, {})
        if self._fits(cfg, route, priority):
            return greq, self._hold(route, {PRIORITY_HEADER_OUT: name})
        in_flight = self.in_flight.get(route, 0)
        detail = f"priority={name}; route={route}; in_flight={in_flight}; limit={overload.capacity(priority):g}"
        span = trace.get_current_span()
        if cache and self.serve_from_cache is not None:
            cached = await self.serve_from_cache(greq)
            if cached is not None:
                metrics.record_shed(route, "cache", name)
                span.add_event("switchyard.shed", {"detail": detail, "served": "cache"})
                return greq, Slot(None, route, {PRIORITY_HEADER_OUT: name, SHED_HEADER: f"cache; {detail}"},
                                  cached=cached)
        brown = overload.brownout_route
        if brown is not None and self._fits(cfg, brown, priority):
            log.info("brownout %s -> %s (%s)", route, brown, detail)
            metrics.record_shed(route, "brownout", name)
            span.add_event("switchyard.brownout", {"detail": detail, "route": brown})
            inp = greq.inp.model_copy(update={"task_type": brown,
                                              "metadata": {**greq.inp.metadata, "brownout_from": route}})
            moved = replace(greq, inp=inp, route=brown)
            return moved, self._hold(brown, {PRIORITY_HEADER_OUT: name, BROWNOUT_HEADER: f"{route} -> {brown}"})
        self.shed_count[name] = self.shed_count.get(name, 0) + 1
        metrics.record_shed(route, "overload", name)
        log.info("shed %s", detail)
        span.add_event("switchyard.shed", {"detail": detail, "served": "429"})
        raise GatewayError(429, f"The gateway is overloaded on route {route!r} and sheds {name}-priority requests "
                                f"first ({in_flight} in flight). Retry after the Retry-After delay, or send a "
                                "higher x-switchyard-priority if this request is more important.",
                           code="overloaded", retry_after_s=overload.retry_after_s,
                           headers={PRIORITY_HEADER_OUT: name, SHED_HEADER: f"429; {detail}"})
