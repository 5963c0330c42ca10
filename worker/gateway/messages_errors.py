"""Gateway errors in Anthropic's error body, for ``POST /v1/messages``.

Body (Anthropic API reference, "Errors"): ``{"type": "error", "error": {"type": ..., "message": ...}}``.
The status is the gateway's own (``errors.py``); ``error.type`` follows Anthropic's table:
400 ``invalid_request_error``, 401 ``authentication_error``, 403 ``permission_error``,
404 ``not_found_error``, 413 ``request_too_large``, 429 ``rate_limit_error``, 500 ``api_error``,
504 ``timeout_error``, 529 ``overloaded_error``; any other 4xx is ``invalid_request_error`` and
any other 5xx ``api_error``. The ``anthropic`` SDK picks its exception class from the status
(``BadRequestError``, ``AuthenticationError``, ..., ``ServiceUnavailableError`` for 503) and retries
408/409/429/5xx after ``retry-after-ms`` / ``retry-after``, which are kept from the gateway error.
Mid-stream the same body is sent as an ``event: error`` SSE event (``messages_sse.py``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

from worker.gateway.errors import GatewayError

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
          504: "timeout_error", 529: "overloaded_error"}


def error_type(status: int) -> str:
    """Anthropic's ``error.type`` for an HTTP status (see module docstring)."""
    return _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(err: GatewayError) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message"}}`` for ``err``."""
    return {"type": "error", "error": {"type": error_type(err.status), "message": err.message}}


def anthropic_response(err: GatewayError) -> JSONResponse:
    """The Anthropic-shaped response of ``err``, with its status and headers (Retry-After kept)."""
    headers = {k: v for k, v in err.response().headers.items() if k not in ("content-length", "content-type")}
    return JSONResponse(error_body(err), status_code=err.status, headers=headers)


def error_event(err: GatewayError) -> bytes:
    """The SSE ``error`` event that ends a stream which cannot be completed."""
    return b"event: error\ndata: " + json.dumps(error_body(err), separators=(",", ":")).encode() + b"\n\n"
