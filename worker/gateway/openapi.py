"""The gateway's OpenAPI 3.1 document (``GET /openapi.json``), built from the same pydantic models
that validate requests, so the schema and the validation cannot drift apart (the fuzz test in
``tests/gateway/test_fuzz.py`` drives schemathesis from it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from core.chat import ChatRequest, ChatResponse
from worker.gateway.inputs import IDEMPOTENCY_HEADER, PRIORITY_HEADER, TASK_TYPE_HEADER, TENANT_HEADER

_REF = "#/components/schemas/{model}"

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["message", "type"],
    "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                   "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}

_MODEL = {"type": "object", "required": ["id", "object", "created", "owned_by"],
          "properties": {"id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"},
                         "owned_by": {"type": "string"}, "switchyard_route": {"type": "string"}}}


def _errors(*codes: int) -> dict[str, Any]:
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {str(c): {"description": "OpenAI-shaped error", **ref} for c in codes}


def _header(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": schema, "description": text}


def _chat_operation() -> dict[str, Any]:
    params = [_header(TASK_TYPE_HEADER, {"type": "string"}, "Route (task type); overrides the model field."),
              _header(TENANT_HEADER, {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"},
                      "Tenant; must match the key's tenant when auth is required."),
              _header(PRIORITY_HEADER, {"type": "integer", "minimum": 1, "maximum": 5}, "Priority, 1 = highest."),
              _header(IDEMPOTENCY_HEADER, {"type": "string", "maxLength": 200},
                      "Retries with the same key (per tenant) attach to the same execution.")]
    ok = {"description": "chat.completion (or text/event-stream when stream is true)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatResponse"}},
                      "text/event-stream": {"schema": {"type": "string"}}}}
    return {"operationId": "createChatCompletion", "summary": "Run a chat completion as a durable workflow",
            "parameters": params,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ChatRequest"}}}},
            "responses": {"200": ok, **_errors(400, 401, 403, 404, 413, 429, 503, 504)}}


@cache
def openapi_schema() -> dict[str, Any]:
    """The document (computed once per process)."""
    components: dict[str, Any] = {"Error": _ERROR, "Model": _MODEL}
    for model, mode in ((ChatRequest, "validation"), (ChatResponse, "serialization")):
        schema = model.model_json_schema(ref_template=_REF, mode=mode)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    models_ok = {"description": "accepted model values", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"object": {"const": "list"},
                                         "data": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}}}}}}
    one_model = {"description": "one accepted model value",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Model"}}}}
    health = {"description": "status", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Switchyard gateway", "version": "1",
                 "description": "OpenAI-compatible Chat Completions; every request is a durable Temporal workflow."},
        "paths": {
            "/v1/chat/completions": {"post": _chat_operation()},
            "/v1/models": {"get": {"operationId": "listModels", "responses": {"200": models_ok, **_errors(401)}}},
            "/v1/models/{model}": {"get": {
                "operationId": "retrieveModel", "responses": {"200": one_model, **_errors(401, 404)},
                "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}]}},
            "/healthz": {"get": {"operationId": "healthz", "security": [], "responses": {"200": health}}},
            "/readyz": {"get": {"operationId": "readyz", "security": [], "responses": {"200": health, "503": health}}},
        },
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
