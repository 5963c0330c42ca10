"""Gateway errors in OpenAI's error body, with statuses the official SDKs handle right.

Body (``shared/providers.md`` section 3.1): ``{"error": {"message", "type", "param", "code"}}``.
Statuses and what the OpenAI SDK does with them (section 3.6): 400/401/403/404/413 raise at once;
429 and 5xx are retried (twice by default) after ``retry-after-ms`` / ``retry-after`` when
0 < wait <= 60 s, so every 429/503 here carries both headers.

Error tree::

    GatewayError(status, message, type, code, param)      raised by the request handlers
      -> 400 invalid_request_error   malformed JSON, wrong types, bad header values
      -> 401 invalid_api_key         missing or unknown gateway key
      -> 403 permission_denied       a key acting for another tenant
      -> 404 model_not_found         a model no route serves
      -> 413 request_too_large       body over ``gateway.max_body_bytes``
      -> 503 service_unavailable     Temporal unreachable (our own infrastructure)
    RequestFailure (from the workflow) -> its own status: the caller's 4xx unchanged,
      429 RateLimited, 503 AllTargetsFailed (the attempts in the message), 504 CallerDeadline
"""

from __future__ import annotations

import math

from starlette.responses import JSONResponse

from core.request import RequestFailure

#: OpenAI ``error.type`` by HTTP status (observed bodies, providers.md section 3.2).
_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
          404: "invalid_request_error", 405: "invalid_request_error", 408: "timeout_error",
          409: "invalid_request_error", 413: "invalid_request_error", 415: "invalid_request_error",
          422: "invalid_request_error", 429: "rate_limit_error"}

#: ``error.code`` for the workflow's caller-facing classes (OpenAI's own codes where one exists).
_CODES = {"ContextLengthExceeded": "context_length_exceeded", "ContentFiltered": "content_filter",
          "InvalidRequest": "invalid_request", "LocalInvalidRequest": "invalid_request",
          "PayloadTooLarge": "request_too_large", "RateLimited": "rate_limit_exceeded",
          "AllTargetsFailed": "all_targets_failed", "CallerDeadline": "deadline_exceeded"}


class GatewayError(Exception):
    """A request the gateway answers with an error, before or instead of a workflow result.

    ``retry_after_s``: seconds, sent as ``retry-after`` (whole seconds, rounded up) and
    ``retry-after-ms``; ``headers``: extra response headers (e.g. the workflow id)."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 type_: str | None = None, retry_after_s: float | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type_ or _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        self.retry_after_s = retry_after_s
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """The OpenAI-shaped JSON response."""
        headers = dict(self.headers)
        if self.retry_after_s is not None:
            headers["retry-after"] = str(max(1, math.ceil(self.retry_after_s)))
            headers["retry-after-ms"] = str(max(1, round(self.retry_after_s * 1000)))
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def from_failure(failure: RequestFailure, headers: dict[str, str]) -> GatewayError:
    """The HTTP error for a workflow that ended without an answer (see module docstring).

    Capacity failures (429/503) without a Retry-After from the walk get 1 s, so the SDK's own
    retry waits at least that long."""
    retry_after = failure.retry_after_s
    if failure.status in (429, 503) and retry_after is None:
        retry_after = 1.0
    return GatewayError(failure.status, failure.message, code=_CODES.get(failure.error_class),
                        retry_after_s=retry_after, headers=headers)


def unauthorized(message: str) -> GatewayError:
    """401 as OpenAI sends it for a bad key (``invalid_request_error`` / ``invalid_api_key``)."""
    return GatewayError(401, message, code="invalid_api_key")


def unavailable(message: str, retry_after_s: float = 1.0) -> GatewayError:
    """503 for our own infrastructure (Temporal or the database unreachable)."""
    return GatewayError(503, message, code="service_unavailable", retry_after_s=retry_after_s)


def key_reused(err: Exception) -> GatewayError:
    """422 for an Idempotency-Key reused with a different request (``worker/idempotency.py``)."""
    return GatewayError(422, str(err), param="Idempotency-Key", code="idempotency_key_reused")
