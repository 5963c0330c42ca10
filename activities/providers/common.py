"""What every adapter shares: one POST, the httpx-exception map, error raising, response metadata.

Error tree of one ``complete()`` (every failure leaves as :class:`ProviderError`)::

    prepare raises .................. LocalInvalidRequest / UnsupportedInput (image download, Gemini)
    build_request raises ............ LocalInvalidRequest (nothing sent; e.g. tool arguments not JSON),
                                      UnsupportedInput (e.g. an image format this protocol refuses)
    before response headers
      ConnectError, ConnectTimeout,
      RemoteProtocolError, ReadError,
      WriteError, other transport ... ConnectError   (providers.md §5 row 1)
      ReadTimeout, WriteTimeout,
      PoolTimeout .................... Timeout        (row 2)
    after headers, reading the body
      timeout ........................ Timeout
      connection lost ................ MalformedResponse (the body is incomplete; row 22)
    non-2xx ......................... classify_http          (core/classify.py)
    2xx, body not JSON .............. MalformedResponse
    2xx, unusable or error body ..... classify_success_body  (core/classify.py)

``ttft_ms`` is the time from sending to the response headers. Bodies are never logged.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx

from activities.providers.base import AdapterResult, ProviderCall, ProviderError
from activities.providers.http import CONNECT_TIMEOUT_S
from core.chat import ChatResponse, ToolCall
from core.classify import Classified, classify_http, classify_success_body
from core.errors import ErrorClass
from core.tokens import estimate_prompt_tokens


class WireRequest(NamedTuple):
    """``build_request`` output: absolute URL, headers (auth included), JSON body, trace notes."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    notes: list[str]


@dataclass(frozen=True)
class ResponseMeta:
    """Our side of a response: ``id`` (``chatcmpl-...``) and ``created`` (unix seconds, call time)."""

    id: str
    created: int

    @classmethod
    def new(cls, now: float) -> ResponseMeta:
        """A fresh id and ``created = int(now)``."""
        return cls(id=f"chatcmpl-{uuid.uuid4().hex}", created=int(now))

    @classmethod
    def derived(cls, data: Any) -> ResponseMeta:
        """Deterministic metadata for pure parsing: id from a hash of the body, ``created`` from the
        body's own ``created`` when it has one, else 0."""
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:24]
        created = data.get("created") if isinstance(data, dict) else None
        return cls(id=f"chatcmpl-{digest}", created=created if isinstance(created, int) else 0)


class HttpAdapter:
    """Base of the three adapters: subclasses give ``protocol``, ``build_request`` and
    ``parse_response``; :meth:`complete` is the same one-POST pipeline for all."""

    protocol: str = ""

    def build_request(self, call: ProviderCall) -> WireRequest:
        """Pure: the wire request for ``call`` (raises ``ProviderError(LocalInvalidRequest)``)."""
        raise NotImplementedError

    def parse_response(self, data: Any, call: ProviderCall, meta: ResponseMeta | None = None) -> ChatResponse:
        """Pure: a provider success body -> OpenAI-shaped :class:`ChatResponse`."""
        raise NotImplementedError

    def translated(self, call: ProviderCall) -> bool | None:
        """Whether the request was rewritten for this target (``None``: decided by protocol)."""
        return None

    def response_notes(self, data: Any) -> list[str]:
        """Trace notes about the answer itself (e.g. Anthropic ``pause_turn``)."""
        return []

    async def prepare(self, client: httpx.AsyncClient, call: ProviderCall) -> tuple[ProviderCall, list[str]]:
        """I/O a translation needs before ``build_request`` (Gemini downloads remote images);
        ``(call to translate, trace notes)``. Default: nothing to do."""
        return call, []

    async def complete(self, client: httpx.AsyncClient, call: ProviderCall) -> AdapterResult:
        """One POST; classify any failure; map the answer. Raises :class:`ProviderError` only."""
        call, prepared = await self.prepare(client, call)
        wire = self.build_request(call)
        meta = ResponseMeta.new(time.time())
        status, headers, raw, ttft_ms = await post_json(client, wire, call.timeout_s)
        data = decode_answer(self.protocol, status, headers, raw, translated=self.translated(call),
                             prompt_tokens=estimate_prompt_tokens(call.request))
        response = self.parse_response(data, call, meta)
        upstream = _upstream_id(data, headers)
        return AdapterResult(response=response, ttft_ms=ttft_ms,
                             notes=[*prepared, *wire.notes, *self.response_notes(data)], upstream_id=upstream)


async def post_json(client: httpx.AsyncClient, wire: WireRequest,
                    timeout_s: float) -> tuple[int, httpx.Headers, bytes, float]:
    """POST ``wire`` once: ``(status, headers, body bytes, ttft ms)``; httpx errors -> ProviderError."""
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))
    started = time.perf_counter()
    try:
        async with client.stream("POST", wire.url, json=wire.body, headers=wire.headers,
                                 timeout=timeout) as resp:
            ttft_ms = (time.perf_counter() - started) * 1000.0
            raw = await _read_body(resp)
            return resp.status_code, resp.headers, raw, ttft_ms
    except ProviderError:
        raise
    except httpx.ConnectTimeout as e:
        raise ProviderError(ErrorClass.CONNECT, f"connect timeout ({type(e).__name__})") from None
    except httpx.TimeoutException as e:
        raise ProviderError(ErrorClass.TIMEOUT, f"no response within {timeout_s:g} s ({type(e).__name__})") from None
    except (httpx.TransportError, httpx.InvalidURL) as e:
        raise ProviderError(ErrorClass.CONNECT, f"connection failed ({type(e).__name__})") from None
    except httpx.HTTPError as e:
        raise ProviderError(ErrorClass.MALFORMED_RESPONSE, f"unusable response ({type(e).__name__})") from None


async def _read_body(resp: httpx.Response) -> bytes:
    try:
        return await resp.aread()
    except httpx.TimeoutException:
        raise ProviderError(ErrorClass.TIMEOUT, "timed out while reading the response body",
                            status=resp.status_code) from None
    except httpx.HTTPError as e:
        raise ProviderError(ErrorClass.MALFORMED_RESPONSE, f"response body cut off ({type(e).__name__})",
                            status=resp.status_code) from None


def decode_answer(protocol: str, status: int, headers: httpx.Headers | dict[str, str], raw: bytes, *,
                  translated: bool | None = None, now: float | None = None, prompt_tokens: int | None = None) -> Any:
    """A usable success body as JSON, or raise the classified :class:`ProviderError`
    (``prompt_tokens``: the request's estimate, see ``classify_http``)."""
    now = time.time() if now is None else now
    if not 200 <= status < 300:
        raise error_from(classify_http(protocol, status, headers, raw, now=now, translated=translated,
                                       prompt_tokens=prompt_tokens), status)
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProviderError(ErrorClass.MALFORMED_RESPONSE, "response body is not JSON", status=status) from None
    verdict = classify_success_body(protocol, data, headers=headers, now=now, translated=translated)
    if verdict is not None:
        raise error_from(verdict, status)
    return data


def error_from(c: Classified, http_status: int) -> ProviderError:
    """The :class:`ProviderError` for a classification (message defaults to ``HTTP <status>``)."""
    return ProviderError(c.error_class, c.message or f"HTTP {http_status}", status=c.status or http_status,
                         retry_after_s=c.retry_after_s, code=c.code, should_retry=c.should_retry)


def _upstream_id(data: Any, headers: httpx.Headers | dict[str, str]) -> str | None:
    if isinstance(data, dict):
        for key in ("id", "responseId"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
    for name in ("x-request-id", "request-id", "mistral-correlation-id"):
        if headers.get(name):
            return headers[name]
    return None


# --- small pure helpers shared by the translations -------------------------------------------------

TASK_TYPE_HEADER = "x-switchyard-task-type"


def base_headers(call: ProviderCall) -> dict[str, str]:
    """``content-type``, the provider's configured headers, and ``x-switchyard-task-type`` when the
    provider opts in (``send_task_type``, set for the simulator, which picks its task profile by
    it; real providers are not told route names) and the request's ``metadata`` names a
    ``task_type``. Auth headers are added by each adapter."""
    headers = {"content-type": "application/json", **call.provider.headers}
    task_type = (call.request.metadata or {}).get("task_type")
    if task_type and call.provider.send_task_type:
        headers[TASK_TYPE_HEADER] = task_type
    return headers


def content_parts(content: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A message's content as OpenAI parts: a string becomes one text part, ``None`` none."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [p for p in content if isinstance(p, dict)]


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a content value: the string, or its text parts joined with newlines."""
    return "\n".join(str(p.get("text", "")) for p in content_parts(content) if p.get("type") == "text")


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``data:<mime>;base64,<data>`` -> ``(mime, data)``; ``None`` for anything else."""
    if not url.startswith("data:") or "," not in url:
        return None
    head, data = url[5:].split(",", 1)
    if not head.endswith(";base64"):
        return None
    return head[: -len(";base64")] or "application/octet-stream", data


def tool_arguments(call: ToolCall) -> dict[str, Any]:
    """An OpenAI tool call's ``arguments`` string as an object (``{}`` when empty).

    Raises ``ProviderError(LocalInvalidRequest)`` when it is not a JSON object: nothing is sent."""
    raw = call.function.arguments.strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ProviderError(ErrorClass.LOCAL_INVALID,
                            f"tool call {call.id!r}: arguments are not valid JSON") from None
    if not isinstance(value, dict):
        raise ProviderError(ErrorClass.LOCAL_INVALID, f"tool call {call.id!r}: arguments are not a JSON object")
    return value


def json_text(value: Any) -> str:
    """Compact JSON for tool arguments and JSON-mode content (non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


SAMPLING_PARAMS = ("temperature", "top_p", "top_k")


def sampling_allowed(call: ProviderCall, notes: list[str], protocol: str) -> bool:
    """False (with a note naming what was set) when the target lacks the ``sampling`` capability:
    the newest models reject ``temperature``/``top_p``/``top_k`` (providers.md §0 #2)."""
    if "sampling" in call.target.capabilities:
        return True
    req = call.request
    given = [n for n in SAMPLING_PARAMS if getattr(req, n, None) is not None or (req.model_extra or {}).get(n)]
    dropped(notes, protocol, given, "target does not accept sampling parameters")
    return False


def dropped(notes: list[str], protocol: str, names: list[str], why: str = "not supported") -> None:
    """Append one trace note for parameters that were not sent."""
    if names:
        notes.append(f"{protocol}: dropped {', '.join(sorted(names))} ({why})")
