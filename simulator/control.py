"""The ``/_sim/`` control API: look at and steer a running simulator.

- ``GET  /_sim/state``: ``{scenario, incident_time_s, time_scale, live_steps, next_step,
  targets: {id: effective settings}}``.
- ``POST /_sim/reset``: restart the incident clock, forget live steps, rate windows and counters,
  reseed the random streams. Optional body ``{"at": "10m" | seconds, "time_scale": N}`` starts the
  incident at that incident time and/or with a new scale. Returns the state.
- ``POST /_sim/apply``: apply a step now: ``{"target": id | "*", "set": {...}, "reset": bool}`` or a
  list of them. 422 with the field path for an invalid step, 404 for an unknown target. Returns
  ``{"applied": [...], "state": ...}``.
- ``GET  /_sim/stats`` / ``POST /_sim/stats/reset``: per-target counters (see ``simulator.stats``).
- ``GET  /_sim/scenario``: the loaded scenario as JSON.
- ``GET  /_sim/requests[?target=ID]``: the last requests each target received (``simulator.received``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.scenario import StepChange, format_validation_error, parse_duration
from simulator.world import World


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else None


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Control:
    """Handlers of the control API for one :class:`World`."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def state(self, request: Request) -> Response:
        """Incident time and effective settings per target."""
        return JSONResponse(self.world.state())

    async def reset(self, request: Request) -> Response:
        """Restart the incident (optionally at ``at`` and with ``time_scale``)."""
        try:
            body = await _json(request) or {}
            at = body.get("at", 0)
            at_s = float(at) if isinstance(at, int | float) else parse_duration(at)
            scale = body.get("time_scale")
            self.world.reset(at_s, float(scale) if scale is not None else None)
        except (ValueError, TypeError, AttributeError) as exc:
            return _problem(422, f"invalid reset request: {exc}")
        return JSONResponse(self.world.state())

    async def apply(self, request: Request) -> Response:
        """Apply one step or a list of steps at the current incident time."""
        try:
            body = await _json(request)
        except ValueError as exc:
            return _problem(400, f"body is not JSON: {exc}")
        items = body if isinstance(body, list) else [body]
        try:
            changes = [StepChange.model_validate(item) for item in items]
        except ValidationError as exc:
            return _problem(422, format_validation_error(exc))
        unknown = [c.target for c in changes if c.target != "*" and c.target not in self.world.scenario.targets]
        if unknown:
            return _problem(404, f"unknown target(s): {', '.join(unknown)}; known: {', '.join(self.world.targets)}")
        applied = [self.world.apply(c).model_dump(by_alias=True, exclude_unset=True) for c in changes]
        return JSONResponse({"applied": applied, "state": self.world.state()})

    async def stats(self, request: Request) -> Response:
        """Per-target counters."""
        return JSONResponse(self.world.stats.snapshot(self.world.targets))

    async def stats_reset(self, request: Request) -> Response:
        """Zero the counters (and forget the received requests)."""
        self.world.stats.clear()
        self.world.received.clear()
        return JSONResponse(self.world.stats.snapshot(self.world.targets))

    async def scenario(self, request: Request) -> Response:
        """The loaded scenario."""
        return JSONResponse(self.world.scenario.model_dump(mode="json", by_alias=True, exclude_unset=True))

    async def requests(self, request: Request) -> Response:
        """The last requests per target (``?target=ID``: one target's only)."""
        return JSONResponse(self.world.received.snapshot(request.query_params.get("target")))

    def routes(self) -> list[Route]:
        """The ``/_sim`` routes."""
        return [
            Route("/_sim/state", self.state, methods=["GET"]),
            Route("/_sim/reset", self.reset, methods=["POST"]),
            Route("/_sim/apply", self.apply, methods=["POST"]),
            Route("/_sim/stats", self.stats, methods=["GET"]),
            Route("/_sim/stats/reset", self.stats_reset, methods=["POST"]),
            Route("/_sim/scenario", self.scenario, methods=["GET"]),
            Route("/_sim/requests", self.requests, methods=["GET"]),
        ]
