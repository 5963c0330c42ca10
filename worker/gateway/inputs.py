"""From a validated body, the caller and the headers to the workflow's :class:`RequestInput`.

Routing and accounting fields come from headers first, then from the body's ``metadata``:

- route: ``x-switchyard-task-type`` / ``metadata.task_type``, which must name a route (400);
  without one the ``model`` field picks it (``model_map.py``; 404 when no route serves it);
- tenant: ``x-switchyard-tenant`` / ``metadata.tenant``. With ``auth: required`` it is the key's
  tenant, and naming another is a 403; with ``auth: off`` this value, else ``default``;
- priority: ``x-switchyard-priority`` / ``metadata.priority``: ``critical``, ``high``, ``normal``,
  ``low``, ``batch`` or Temporal's priority key 1 (highest) to 5 (``core/priority.py``; 400
  otherwise); without one, the tenant's ``admission.tenants.<tenant>.tier``;
- idempotency key: the ``Idempotency-Key`` header, at most 200 characters, scoped by tenant into
  the workflow id (``core/ids.py``);
- response cache policy (``core/cache.py``): ``x-switchyard-cache`` / ``metadata.cache`` (``off``,
  ``refresh``, ``no-cache``, ``no-store``, ``default``; 400 otherwise), else the request's
  ``Cache-Control`` directives ``no-store`` (neither look up nor store) and ``no-cache`` (skip the
  lookup, store the new answer), as in RFC 9111 section 5.2.1.

``stream`` / ``stream_options`` are the gateway's business (``sse.py``) and are removed from the
request the workflow sees; ``stream_options`` without ``stream: true`` is a 400, as at OpenAI.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers

from activities.storage.api_keys import InvalidTenant, check_tenant
from core.cache import CachePolicy
from core.chat import ChatRequest
from core.config import SwitchyardConfig
from core.priority import KEYS, InvalidPriority, parse_priority
from core.request import RequestInput
from worker.gateway.errors import GatewayError
from worker.gateway.model_map import ModelMap

TASK_TYPE_HEADER = "x-switchyard-task-type"
TENANT_HEADER = "x-switchyard-tenant"
PRIORITY_HEADER = "x-switchyard-priority"
IDEMPOTENCY_HEADER = "idempotency-key"
CACHE_HEADER = "x-switchyard-cache"
_CACHE_POLICIES = ("default", "no-cache", "refresh", "no-store", "off")
MAX_IDEMPOTENCY_KEY = 200


@dataclass(frozen=True)
class Caller:
    """Who sent the request: the tenant of a verified key (``key_id`` set), or ``None`` tenant when
    ``auth: off`` leaves it to the headers."""

    tenant: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class GatewayRequest:
    """What the chat handler runs: the workflow input, its route, and how to answer."""

    inp: RequestInput
    route: str
    stream: bool
    include_usage: bool


def build_request(chat: ChatRequest, headers: Headers, caller: Caller, cfg: SwitchyardConfig,
                  models: ModelMap) -> GatewayRequest:
    """The :class:`GatewayRequest`; raises :class:`GatewayError` (400/403/404) for bad values."""
    meta = chat.metadata or {}
    stream = bool(chat.stream)
    if chat.stream_options is not None and not stream:
        raise GatewayError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                           param="stream_options")
    route = route_of(headers.get(TASK_TYPE_HEADER) or meta.get("task_type"), chat.model, cfg, models)
    tenant = tenant_of(headers.get(TENANT_HEADER) or meta.get("tenant"), caller)
    tier = cfg.admission.tier(tenant)
    inp = RequestInput(
        request=chat.model_copy(update={"stream": None, "stream_options": None}),
        task_type=route, tenant=tenant,
        priority=(_priority(headers.get(PRIORITY_HEADER), PRIORITY_HEADER)
                  or _priority(meta.get("priority"), "metadata.priority") or (KEYS[tier] if tier else None)),
        idempotency_key=_idempotency_key(headers.get(IDEMPOTENCY_HEADER)),
        cache=_cache_policy(headers, meta),
        metadata={"via": "gateway", "model": (chat.model or "")[:200], **({"key_id": caller.key_id}
                                                                          if caller.key_id else {})})
    include_usage = stream and bool((chat.stream_options or {}).get("include_usage"))
    return GatewayRequest(inp=inp, route=route, stream=stream, include_usage=include_usage)


def route_of(task_type: str | None, model: str | None, cfg: SwitchyardConfig, models: ModelMap) -> str:
    """The route of a request: the task-type header's, else the one serving ``model``; raises
    :class:`GatewayError` (400 unknown task type, 404 unknown model)."""
    if task_type:
        if task_type not in cfg.routes:
            raise GatewayError(400, f"Unknown task type {task_type!r}; known: {', '.join(cfg.routes)}.",
                               param=TASK_TYPE_HEADER, code="unknown_task_type")
        return task_type
    route = models.route_for(model)
    if route is None:
        raise GatewayError(404, f"The model `{model}` does not exist or no route serves it. "
                                "GET /v1/models lists the accepted values.", param="model", code="model_not_found")
    return route


def tenant_of(requested: str | None, caller: Caller) -> str:
    """The tenant a request runs as (see module docstring); raises :class:`GatewayError` 403/400."""
    if caller.tenant is not None:
        if requested and requested != caller.tenant:
            raise GatewayError(403, f"This API key belongs to tenant {caller.tenant!r}; it cannot act for "
                                    f"{requested!r}.", param=TENANT_HEADER, code="tenant_mismatch")
        return caller.tenant
    try:
        return check_tenant(requested) if requested else "default"
    except InvalidTenant as e:
        raise GatewayError(400, str(e), param=TENANT_HEADER) from None


def _priority(raw: str | None, where: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_priority(raw)
    except InvalidPriority as e:
        raise GatewayError(400, f"{str(e).capitalize()} (in {where}).", param=where) from None


def _cache_policy(headers: Headers, meta: dict[str, str]) -> CachePolicy:
    """The request's cache policy (see module docstring)."""
    raw, where = headers.get(CACHE_HEADER), CACHE_HEADER
    if raw is None and meta.get("cache") is not None:
        raw, where = meta["cache"], "metadata.cache"
    if raw is not None:
        value = raw.strip().lower()
        if value not in _CACHE_POLICIES:
            raise GatewayError(400, f"Invalid cache policy {raw[:20]!r} in {where}: expected one of "
                                    f"{', '.join(_CACHE_POLICIES)}.", param=where)
        return value  # type: ignore[return-value]
    directives = {d.strip().lower().split("=")[0] for d in headers.get("cache-control", "").split(",")}
    if "no-store" in directives:
        return "no-store"
    if "no-cache" in directives:
        return "no-cache"
    return "default"


def _idempotency_key(raw: str | None) -> str | None:
    if not raw:
        return None
    if len(raw) > MAX_IDEMPOTENCY_KEY:
        raise GatewayError(400, f"Idempotency-Key is {len(raw)} characters long; at most "
                                f"{MAX_IDEMPOTENCY_KEY} are accepted.", param="Idempotency-Key")
    return raw
