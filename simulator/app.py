"""The simulator's Starlette application: provider routes (with and without ``/r/{region}``) and
the ``/_sim`` control API. See ``simulator.handlers`` and ``simulator.control`` for each path."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from simulator.anthropic_api import AnthropicProtocol
from simulator.control import Control
from simulator.gemini_api import GeminiProtocol
from simulator.handlers import Handlers
from simulator.openai_api import OpenAIProtocol
from simulator.world import World

REGION_PREFIX = "/r/{region}"


def _provider_routes(h: Handlers, prefix: str) -> list[Route]:
    return [
        Route(f"{prefix}/v1/chat/completions", h.openai_chat, methods=["POST"]),
        Route(f"{prefix}/v1/embeddings", h.embeddings.openai, methods=["POST"]),
        Route(f"{prefix}/v1/models", h.list_models, methods=["GET"]),
        Route(f"{prefix}/v1/models/{{rest:path}}", h.v1_model, methods=["GET", "POST"]),
        Route(f"{prefix}/v1/messages", h.anthropic_messages, methods=["POST"]),
        Route(f"{prefix}/v1beta/models", h.gemini_list, methods=["GET"]),
        Route(f"{prefix}/v1beta/models/{{rest:path}}", h.gemini_models, methods=["GET", "POST"]),
    ]


def build_app(world: World, *, require_key: bool = False) -> Starlette:
    """The ASGI app serving ``world`` (``require_key``: reject requests without an API key header)."""
    protocols = {p.name: p for p in (OpenAIProtocol(), AnthropicProtocol(), GeminiProtocol())}
    handlers = Handlers(world, protocols, require_key=require_key)
    routes = Control(world).routes() + _provider_routes(handlers, "") + _provider_routes(handlers, REGION_PREFIX)
    app = Starlette(routes=routes)
    app.state.world = world
    return app
