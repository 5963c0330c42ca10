"""``GET /v1/models`` and ``GET /v1/models/{model}``: the ``model`` values this gateway accepts.

OpenAI's list shape (``{"object": "list", "data": [{id, object: "model", created, owned_by}]}``),
each entry with one extra field, ``switchyard_route``: the route a request naming it runs on
(``model_map.py`` has the rule). Authenticated like every ``/v1`` endpoint.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.gateway.auth import authenticate
from worker.gateway.errors import GatewayError
from worker.gateway.model_map import ModelEntry
from worker.gateway.state import Gateway


def _entry(e: ModelEntry, created: int) -> dict[str, Any]:
    return {"id": e.id, "object": "model", "created": created, "owned_by": e.owned_by, "switchyard_route": e.route}


async def list_models(request: Request) -> Response:
    """Every accepted value: ``switchyard/auto``, route names, model names, ``provider/model``, target ids."""
    gw: Gateway = request.app.state.gateway
    cfg, models = gw.config()
    await authenticate(request, gw, cfg)
    return JSONResponse({"object": "list", "data": [_entry(e, gw.started_at) for e in models.entries]})


async def retrieve_model(request: Request) -> Response:
    """One entry, or 404 ``model_not_found`` as OpenAI answers."""
    gw: Gateway = request.app.state.gateway
    cfg, models = gw.config()
    await authenticate(request, gw, cfg)
    name = request.path_params["model"]
    for e in models.entries:
        if e.id == name:
            return JSONResponse(_entry(e, gw.started_at))
    raise GatewayError(404, f"The model `{name}` does not exist or no route serves it.", param="model",
                       code="model_not_found")
