"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can serve a request).

Ready means all three checks pass, each bounded by :data:`CHECK_TIMEOUT_S`: Temporal answers its
health check, the in-process request worker is running (so eager start has somewhere to land),
and the database answers ``SELECT 1``. ``/readyz`` answers 200 ``{"status": "ready", "checks":
{...: "ok"}}`` or 503 with the failing check's reason; neither endpoint needs a key (load
balancers and orchestrators call them).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.gateway.state import Gateway

CHECK_TIMEOUT_S = 2.0


async def healthz(request: Request) -> Response:
    """Liveness: 200 while the event loop serves requests."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness (see module docstring)."""
    checks = await readiness(request.app.state.gateway)
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


async def readiness(gw: Gateway) -> dict[str, str]:
    """``{"temporal", "worker", "database"}`` -> ``"ok"`` or why not."""
    temporal, database = await asyncio.gather(_temporal(gw), _database(gw))
    worker = "ok" if gw.worker is not None and gw.worker.is_running and not gw.worker.is_shutdown \
        else "request worker not running"
    return {"temporal": temporal, "worker": worker, "database": database}


async def _temporal(gw: Gateway) -> str:
    try:
        healthy = await gw.sy.client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT_S))
    except Exception as e:  # noqa: BLE001 - any failure means "not ready", reported with its type
        return f"unreachable ({type(e).__name__})"
    return "ok" if healthy else "not serving"


async def _database(gw: Gateway) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            async with gw.services.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any failure means "not ready", reported with its type
        return f"unreachable ({type(e).__name__})"
    return "ok"
