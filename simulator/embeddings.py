"""Embedding endpoints of the simulator, in each provider's wire format.

- OpenAI ``POST [/r/{region}]/v1/embeddings``: ``{model, input: str | [str], dimensions?,
  encoding_format?: float | base64}`` -> ``{object: list, data: [{object: embedding, index,
  embedding}], model, usage: {prompt_tokens, total_tokens}}``.
- Gemini ``POST [/r/{region}]/v1beta/models/{model}:embedContent`` (``{content: {parts: [{text}]},
  outputDimensionality?}`` -> ``{embedding: {values}}``) and ``:batchEmbedContents``
  (``{requests: [...]}`` -> ``{embeddings: [{values}]}``).

Vectors are deterministic: the words of the text hashed into ``dimensions`` buckets with a seed per
model, then L2-normalised, so equal texts get equal vectors, texts sharing words are close, and two
models give unrelated vectors (what a caller mixing models would get wrong). The target's fault
settings apply as for generation (error rates, statuses, rate limits, latency). The common
embedding models (:data:`STANDARD_MODELS`) are served without faults when the scenario does not
list them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import struct
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulator.protocol import Protocol, Reply
from simulator.world import RequestTraits, World

DEFAULT_DIMENSIONS = 256
#: Embedding models served with the scenario's baseline (no faults) when a scenario does not list
#: them, so any scenario can back a config with an embeddings route (the semantic cache's); list
#: one in the scenario's targets to script its faults.
STANDARD_MODELS = frozenset({"text-embedding-3-small", "text-embedding-3-large", "text-embedding-004",
                             "nomic-embed-text"})
_WORD = re.compile(r"[a-z0-9]+")


def vector(model: str, text: str, dimensions: int) -> list[float]:
    """The deterministic, L2-normalised embedding of ``text`` by ``model`` (see module docstring)."""
    v = [0.0] * dimensions
    for word in _WORD.findall(text.lower()) or [""]:
        h = hashlib.blake2b(f"{model}\x00{word}".encode(), digest_size=8).digest()
        idx, sign = int.from_bytes(h[:4], "big") % dimensions, 1.0 if h[4] & 1 else -1.0
        v[idx] += sign
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [round(x / norm, 6) for x in v]


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


class EmbeddingHandlers:
    """The embedding routes (see module docstring)."""

    def __init__(self, world: World, protocols: dict[str, Protocol]) -> None:
        self.world, self.protocols = world, protocols

    async def _faults(self, proto: Protocol, model: str, region: str | None) -> tuple[str | None, Response | None]:
        target = self.world.find_target(proto.name, model, region)
        self.world.stats.call(target)
        reply = Reply.new(proto.request_id_prefix, model)
        if target is None and model in STANDARD_MODELS:
            return None, None
        if target is None:
            self.world.stats.status(None, 404)
            return None, JSONResponse(proto.error_body(404, model, reply), status_code=404)
        plan, rate = self.world.plan(target, RequestTraits(False, False, None))
        await asyncio.sleep(plan.stall_s + plan.ttft_s)
        if plan.outcome == "rate_limited":
            self.world.stats.status(target, 429)
            return target, JSONResponse(proto.error_body(429, model, reply, rate), status_code=429,
                                        headers=proto.headers(reply, rate, 429))
        if plan.outcome in ("error", "reset", "hang"):
            status = plan.error.status if plan.outcome == "error" and plan.error else 503
            body = plan.error.body if plan.error and plan.error.body is not None else proto.error_body(
                status, model, reply, rate)
            self.world.stats.status(target, status)
            return target, Response(json.dumps(body) if not isinstance(body, str) else body, status_code=status,
                                    media_type="application/json")
        return target, None

    async def openai(self, request: Request) -> Response:
        """``POST [/r/{region}]/v1/embeddings``."""
        proto = self.protocols["openai"]
        try:
            body: Any = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or "input" not in body:
            return JSONResponse({"error": {"message": "'model' and 'input' are required", "type":
                                           "invalid_request_error", "param": None, "code": None}}, status_code=400)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if not inputs or not all(isinstance(t, str) for t in inputs):
            return JSONResponse({"error": {"message": "'input' must be a string or a list of strings",
                                           "type": "invalid_request_error", "param": "input", "code": None}},
                                status_code=400)
        target, err = await self._faults(proto, body["model"], request.path_params.get("region"))
        if err is not None:
            return err
        dims = int(body.get("dimensions") or DEFAULT_DIMENSIONS)
        b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(inputs):
            v = vector(body["model"], text, dims)
            emb: Any = base64.b64encode(struct.pack(f"<{dims}f", *v)).decode() if b64 else v
            data.append({"object": "embedding", "index": i, "embedding": emb})
        n = sum(tokens(t) for t in inputs)
        self.world.stats.status(target, 200)
        return JSONResponse({"object": "list", "data": data, "model": body["model"],
                             "usage": {"prompt_tokens": n, "total_tokens": n}})

    async def gemini(self, request: Request, model: str, batch: bool) -> Response:
        """``:embedContent`` / ``:batchEmbedContents`` of ``model``."""
        proto = self.protocols["gemini"]
        try:
            body: Any = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        items = (body or {}).get("requests") if batch else [body]
        if not isinstance(items, list) or not items or not all(isinstance(it, dict) for it in items):
            return JSONResponse({"error": {"code": 400, "message": "Invalid JSON payload received.",
                                           "status": "INVALID_ARGUMENT"}}, status_code=400)
        target, err = await self._faults(proto, model, request.path_params.get("region"))
        if err is not None:
            return err
        out = []
        for it in items:
            text = " ".join(p.get("text", "") for p in (it.get("content") or {}).get("parts", []))
            out.append({"values": vector(model, text, int(it.get("outputDimensionality") or DEFAULT_DIMENSIONS))})
        self.world.stats.status(target, 200)
        return JSONResponse({"embeddings": out} if batch else {"embedding": out[0]})
