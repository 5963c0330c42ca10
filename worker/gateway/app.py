"""The gateway's ASGI app (Starlette): routes, OpenAI-shaped errors, nothing else.

Each endpoint lives in its own module (``chat.py``, ``models.py``, ``health.py``, ``openapi.py``);
adding one is a line in :data:`ROUTES`. Every error, including unknown paths (404), wrong methods
(405) and unexpected exceptions (500, logged with the traceback), is answered in OpenAI's error
body (``errors.py``), so the SDKs raise their usual exception classes.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from worker.gateway.chat import chat_completions
from worker.gateway.dashboard import dashboard_json, dashboard_page
from worker.gateway.embeddings import embeddings
from worker.gateway.errors import GatewayError
from worker.gateway.feedback import post_feedback
from worker.gateway.health import healthz, readyz
from worker.gateway.messages import create_message
from worker.gateway.metrics import prometheus_metrics
from worker.gateway.models import list_models, retrieve_model
from worker.gateway.openapi import openapi_schema
from worker.gateway.responses import create_response
from worker.gateway.state import Gateway

log = logging.getLogger("switchyard.gateway")


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_schema())


ROUTES = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/embeddings", embeddings, methods=["POST"]),
    Route("/v1/messages", create_message, methods=["POST"]),
    Route("/v1/responses", create_response, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
    Route("/v1/feedback", post_feedback, methods=["POST"]),
    Route("/dashboard", dashboard_page, methods=["GET"]),
    Route("/dashboard/data", dashboard_json, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/openapi.json", _openapi, methods=["GET"]),
]


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"Unknown path {request.url.path}; this gateway serves /v1/chat/completions and /v1/models.",
               405: f"Method {request.method} is not allowed on {request.url.path}."}.get(exc.status_code, exc.detail)
    return GatewayError(exc.status_code, message, headers=dict(exc.headers or {})).response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return GatewayError(500, f"The gateway failed unexpectedly ({type(exc).__name__}); this is a bug, "
                             "please report it.").response()


def build_app(gw: Gateway) -> Starlette:
    """The app serving ``gw``."""
    path = gw.config()[0].metrics.gateway_path
    routes = [*ROUTES, Route(path, prometheus_metrics, methods=["GET"])]
    app = Starlette(routes=routes, exception_handlers={GatewayError: _gateway_error, HTTPException: _http_error,
                                                       Exception: _unexpected})
    app.state.gateway = gw
    return app
