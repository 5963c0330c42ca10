"""HTTP handlers of the three provider protocols: request -> target -> plan -> :class:`SimExchange`.

Paths (each also under a region prefix ``/r/{region}``; providers.md §1.1-1.3):

- OpenAI: ``POST /v1/chat/completions``; ``GET /v1/models``, ``GET /v1/models/{model}``
- Anthropic: ``POST /v1/messages``; ``GET /v1/models`` when the request has ``anthropic-version``
- Gemini: ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent`` (``?alt=sse``
  or JSON array); ``GET /v1beta/models``, ``GET /v1beta/models/{model}``. The same under ``/v1``
  (google-genai 3.x defaults to ``v1``); a ``GET`` under ``/v1/models`` is Gemini's when it carries
  ``x-goog-api-key`` or ``?key=``.

Model listings ignore faults (they keep working during outages, as in the 2023-11-08 incident) and
are not counted as calls. Unknown model -> the provider's 404 body; unreadable body -> its 400 body.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulator.answer import build_answer
from simulator.embeddings import EmbeddingHandlers
from simulator.exchange import ExchangeInput, SimExchange
from simulator.protocol import Protocol, Reply, WireError
from simulator.world import RequestTraits, World

TASK_HEADER = "x-switchyard-task-type"
MODEL_CREATED = 1715367049


class Handlers:
    """Route handlers bound to one :class:`World` and the three protocols."""

    def __init__(self, world: World, protocols: dict[str, Protocol], *, require_key: bool = False) -> None:
        self.world = world
        self.protocols = protocols
        self.require_key = require_key
        self.embeddings = EmbeddingHandlers(world, protocols)

    def _reject(self, target: str | None, status: int, body: dict) -> Response:
        self.world.stats.status(target, status)
        return JSONResponse(body, status_code=status)

    async def _generate(self, request: Request, proto: Protocol, path_model: str | None, stream: bool,
                        sse: bool = True) -> Response:
        region = request.path_params.get("region")
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        hint = path_model or (body.get("model") if isinstance(body, dict) else None)
        hinted = self.world.find_target(proto.name, hint, region) if isinstance(hint, str) else None
        try:
            ask = proto.parse(body, path_model, stream)
        except WireError as err:
            self.world.stats.call(hinted)
            return self._reject(hinted, err.status, err.body)
        target = self.world.find_target(proto.name, ask.model, region)
        self.world.stats.call(target)
        reply = Reply.new(proto.request_id_prefix, ask.model)
        if target is None:
            return self._reject(None, 404, proto.error_body(404, ask.model, reply))
        if self.require_key and not proto.has_credentials(dict(request.headers), dict(request.query_params)):
            return self._reject(target, *proto.missing_key_error(reply))
        self.world.received.add(target, ask)
        traits = RequestTraits(ask.stream, ask.json_asked, request.headers.get(TASK_HEADER))
        plan, rate = self.world.plan(target, traits)
        answer = build_answer(ask, plan, self.world.rng(target)) if plan.outcome == "ok" else None
        return SimExchange(ExchangeInput(self.world, proto, target, ask, plan, rate, reply, answer, sse))

    async def openai_chat(self, request: Request) -> Response:
        """``POST [/r/{region}]/v1/chat/completions``."""
        return await self._generate(request, self.protocols["openai"], None, False)

    async def anthropic_messages(self, request: Request) -> Response:
        """``POST [/r/{region}]/v1/messages``."""
        return await self._generate(request, self.protocols["anthropic"], None, False)

    async def gemini_models(self, request: Request) -> Response:
        """``[/r/{region}]/v1beta/models/{model}[:method]``: generate (POST) or describe a model (GET)."""
        model, _, method = request.path_params["rest"].partition(":")
        model = model.removeprefix("models/")
        proto = self.protocols["gemini"]
        if request.method == "GET" and not method:
            return self._gemini_model(request, model)
        if method == "generateContent":
            return await self._generate(request, proto, model, False)
        if method in ("embedContent", "batchEmbedContents"):
            return await self.embeddings.gemini(request, model, method == "batchEmbedContents")
        if method == "streamGenerateContent":
            return await self._generate(request, proto, model, True, request.query_params.get("alt") == "sse")
        body = proto.error_body(404, model, Reply.new("", model), message=f"Method not found: {method}")
        return JSONResponse(body, status_code=404)

    # ---- model listings (never faulted, never counted) ----

    def _region(self, request: Request) -> str | None:
        return request.path_params.get("region")

    @staticmethod
    def _is_gemini(request: Request) -> bool:
        return "x-goog-api-key" in request.headers or "key" in request.query_params

    async def v1_model(self, request: Request) -> Response:
        """``[/r/{region}]/v1/models/{rest}``: Gemini generation (``model:method``) or a model lookup."""
        if request.method == "POST" or ":" in request.path_params["rest"] or self._is_gemini(request):
            return await self.gemini_models(request)
        return await self.get_model(request)

    async def list_models(self, request: Request) -> Response:
        """``GET [/r/{region}]/v1/models``: OpenAI's list, Anthropic's with ``anthropic-version``,
        Gemini's with ``x-goog-api-key``."""
        if self._is_gemini(request):
            return await self.gemini_list(request)
        if "anthropic-version" in request.headers:
            models = self.world.models("anthropic", self._region(request))
            data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                    for m in models]
            return JSONResponse({"data": data, "has_more": False, "first_id": models[0] if models else None,
                                 "last_id": models[-1] if models else None})
        data = [self._openai_model(m) for m in self.world.models("openai", self._region(request))]
        return JSONResponse({"object": "list", "data": data})

    @staticmethod
    def _openai_model(model: str) -> dict:
        return {"id": model, "object": "model", "created": MODEL_CREATED, "owned_by": "system"}

    async def get_model(self, request: Request) -> Response:
        """``GET [/r/{region}]/v1/models/{model}`` (OpenAI retrieve)."""
        model = request.path_params["rest"]
        if model in self.world.models("openai", self._region(request)):
            return JSONResponse(self._openai_model(model))
        body = self.protocols["openai"].error_body(404, model, Reply.new("req_", model))
        return JSONResponse(body, status_code=404)

    @staticmethod
    def _gemini_entry(model: str) -> dict:
        return {"name": f"models/{model}", "version": "001", "displayName": model,
                "inputTokenLimit": 1_048_576, "outputTokenLimit": 8192,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}

    async def gemini_list(self, request: Request) -> Response:
        """``GET [/r/{region}]/v1beta/models``."""
        models = self.world.models("gemini", self._region(request))
        return JSONResponse({"models": [self._gemini_entry(m) for m in models]})

    def _gemini_model(self, request: Request, model: str) -> Response:
        if model in self.world.models("gemini", self._region(request)):
            return JSONResponse(self._gemini_entry(model))
        body = self.protocols["gemini"].error_body(404, model, Reply.new("", model))
        return JSONResponse(body, status_code=404)
