"""``POST /v1/embeddings``: OpenAI's Create embeddings, served by a fallback chain of embedding targets.

Body (OpenAI API reference): ``model`` (a route, or a model of a route's chain, as for chat),
``input`` (a string or a list of strings; token-id arrays are refused with a 400 naming the field),
``dimensions`` (optional), ``encoding_format`` (``float``, default, or ``base64``: little-endian
float32, as OpenAI sends it), ``user`` (ignored). The request runs as one ``EmbeddingWorkflow``
(``workflows/embedding.py``): every input on one target, a failover re-embeds them all on the next,
so the vectors never mix models. The response names the model that made them; headers add
``x-switchyard-dimensions`` and the usual trace headers (target, failovers, cost, workflow id).
"""

from __future__ import annotations

import base64
import json
import struct
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from temporalio.service import RPCError

from core.embeddings import MAX_INPUTS, EmbeddingInput
from worker.embed_client import embed
from worker.gateway.auth import authenticate
from worker.gateway.body import read_body
from worker.gateway.errors import GatewayError, from_failure, unavailable
from worker.gateway.headers import trace_headers
from worker.gateway.inputs import TASK_TYPE_HEADER, TENANT_HEADER, Caller, route_of, tenant_of
from worker.gateway.state import Gateway
from worker.submit import RequestFailed


def parse_embeddings(raw: bytes) -> dict[str, Any]:
    """The validated body; raises :class:`GatewayError` 400 naming the bad field."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise GatewayError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "The request body must be a JSON object.")
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs:
        raise GatewayError(400, "'input' is required: a string or a non-empty list of strings.", param="input")
    if not all(isinstance(t, str) for t in inputs):
        raise GatewayError(400, "'input' must be strings: token-id arrays are not supported by this gateway.",
                           param="input")
    if any(not t for t in inputs):
        raise GatewayError(400, "'input' cannot contain empty strings.", param="input")
    if len(inputs) > MAX_INPUTS:
        raise GatewayError(400, f"'input' has {len(inputs)} items; at most {MAX_INPUTS} per request.", param="input")
    dims = body.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
        raise GatewayError(400, "'dimensions' must be a positive integer.", param="dimensions")
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise GatewayError(400, f"'encoding_format' must be 'float' or 'base64', not {fmt!r}.", param="encoding_format")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "'model' is required.", param="model")
    return {"inputs": inputs, "dimensions": dims, "format": fmt, "model": model}


def _encode(vector: list[float], fmt: str) -> list[float] | str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if fmt == "base64" else vector


async def embeddings(request: Request) -> Response:
    """The endpoint (see module docstring)."""
    started = time.perf_counter()
    gw: Gateway = request.app.state.gateway
    cfg, models = gw.config()
    caller: Caller = await authenticate(request, gw, cfg)
    body = parse_embeddings(await read_body(request, cfg.gateway.max_body_bytes))
    route = route_of(request.headers.get(TASK_TYPE_HEADER), body["model"], cfg, models)
    tenant = tenant_of(request.headers.get(TENANT_HEADER), caller)
    inp = EmbeddingInput(inputs=body["inputs"], task_type=route, tenant=tenant, dimensions=body["dimensions"],
                         metadata={"via": "gateway"})
    try:
        result, payload = await embed(gw.sy.client, gw.sy.task_queue, gw.services.payloads, inp)
    except RequestFailed as e:
        raise from_failure(e.failure, trace_headers(e.workflow_id, tenant, e.failure.trace, started)) from None
    except RPCError as e:
        raise unavailable(f"The request could not be started: Temporal is unreachable ({e.status.name}).") from None
    headers = {**trace_headers(result.workflow_id, tenant, result.trace, started),
               "x-switchyard-dimensions": str(payload.dimensions)}
    data = [{"object": "embedding", "index": i, "embedding": _encode(v, body["format"])}
            for i, v in enumerate(payload.vectors)]
    usage = {"prompt_tokens": payload.prompt_tokens, "total_tokens": payload.prompt_tokens}
    return JSONResponse({"object": "list", "data": data, "model": payload.model, "usage": usage}, headers=headers)
