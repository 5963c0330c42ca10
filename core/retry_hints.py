"""What a provider's error answer says about itself: the error envelope and when to come back.

``extract_error(body) -> ErrorInfo`` reads every error-body shape of ``shared/providers.md`` §3.1
into one record (message, code, type, Gemini status/reasons/quota ids/RetryInfo); the classifier
(``core/classify.py``) decides the class from it. ``retry_after_s(headers, body, now=...)`` turns
the server's reset hint into seconds to wait.

Reset-hint sources, in this order (§3.5 and §5 "Global rules"); the first source that yields a
parseable value wins, garbage in one source (``retry-after: soon``) falls through to the next:

1. ``retry-after-ms`` (Azure, read first by the OpenAI SDK), then ``x-ms-retry-after-ms`` (Azure's
   older name, read by Portkey between the two, §3.5): milliseconds, e.g. ``4321``.
2. ``retry-after``: seconds (``7``, ``1.5``) or an HTTP-date (``Wed, 21 Oct 2026 07:28:00 GMT``).
3. Reset headers: OpenAI ``x-ratelimit-reset-{requests,tokens}`` (Go durations ``6m0s``, ``500ms``,
   ``1m30s``), Anthropic ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset``
   (RFC 3339 timestamps) and the generic ``x-ratelimit-reset`` (relative seconds, epoch seconds or
   epoch milliseconds, told apart by magnitude: >= 1e12 is epoch ms, >= 1e9 is epoch s, smaller
   is relative). The *relevant* resets are those whose matching ``...-remaining`` header is 0; the
   hint is the latest of them (every exhausted limit must reset before a call can pass). A reset
   whose limit still has room is ignored (these headers ride on every response, a 500 included);
   resets without a ``...-remaining`` header count as relevant and the *earliest* is used.
4. Body hints: Gemini ``error.details[]`` ``google.rpc.RetryInfo.retryDelay`` (``"47s"``), then the
   message text: OpenAI's "Please try again in 1.574s" / "in 20ms" and Gemini's "Please retry in
   36.4s".

Results are seconds, never negative (a reset in the past is 0.0) and capped at
:data:`MAX_RETRY_AFTER_S` (24 h); ``None`` when nothing usable was found (the caller applies its
default backoff). ``x-should-retry: true|false`` (honoured by the OpenAI and Anthropic SDKs before any
status rule, §3.5) is exposed by :func:`should_retry`.

Pure: no clock reads (``now`` is passed in, unix seconds), no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

#: Upper bound of any hint, in seconds (24 h): a longer value is treated as "a day".
MAX_RETRY_AFTER_S = 86_400.0

_EPOCH_MS = 1e12
_EPOCH_S = 1e9

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_TEXT_HINT = re.compile(
    r"(?:try again|retry) in ((?:\d+(?:\.\d+)?(?:ms|us|h|m|s))+|\d+(?:\.\d+)?\s*(?:seconds?|secs?))",
    re.IGNORECASE)

# (reset header, remaining header) pairs, OpenAI first then Anthropic.
_RESET_PAIRS: tuple[tuple[str, str], ...] = (
    ("x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"),
    ("x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"),
    ("anthropic-ratelimit-requests-reset", "anthropic-ratelimit-requests-remaining"),
    ("anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-tokens-remaining"),
    ("anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-input-tokens-remaining"),
    ("anthropic-ratelimit-output-tokens-reset", "anthropic-ratelimit-output-tokens-remaining"),
    ("x-ratelimit-reset", "x-ratelimit-remaining"),
)


def retry_after_s(headers: Mapping[str, str] | None, body: Any = None, *, now: float) -> float | None:
    """The server's reset hint in seconds (0 .. 24 h), or ``None`` when there is none.

    ``headers``: response headers (any case). ``body``: the parsed JSON error body (dict, or a
    one-element list as Gemini-through-Vertex sends), raw text, or ``None``. ``now``: unix seconds,
    used for HTTP-dates, RFC 3339 timestamps and epoch values.
    """
    h = normalise_headers(headers)
    for value in (_ms_header(h), _retry_after_header(h, now), _reset_headers(h, now), _body_hint(body)):
        if value is not None:
            return clamp(value)
    return None


def should_retry(headers: Mapping[str, str] | None) -> bool | None:
    """``x-should-retry``: ``True``/``False`` when the server says so, else ``None``."""
    value = normalise_headers(headers).get("x-should-retry", "").strip().lower()
    return {"true": True, "false": False}.get(value)


def clamp(seconds: float) -> float:
    """Bound a hint to ``0 .. MAX_RETRY_AFTER_S`` seconds."""
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def normalise_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Headers as a plain dict with lower-case names (works for ``httpx.Headers`` too)."""
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def parse_duration(text: str) -> float | None:
    """A Go-style duration (``6m0s``, ``500ms``, ``1m30s``, ``1.5s``, ``2h``) in seconds, else ``None``."""
    s = text.strip().lower()
    if not _DURATION.match(s):
        return None
    return sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(s))


def parse_http_date(text: str, now: float) -> float | None:
    """An RFC 7231 HTTP-date as seconds from ``now`` (may be negative), else ``None``."""
    try:
        dt = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None or dt.tzinfo is None:
        return None
    return dt.timestamp() - now


def parse_rfc3339(text: str, now: float) -> float | None:
    """An RFC 3339 timestamp (``2026-08-21T10:00:30Z``) as seconds from ``now``, else ``None``."""
    s = text.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", s):
        return None
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return dt.timestamp() - now


def parse_number_or_epoch(text: str, now: float) -> float | None:
    """A bare number: relative seconds, or epoch seconds / milliseconds told apart by magnitude."""
    s = text.strip()
    if not _NUMBER.match(s):
        return None
    value = float(s)
    if value >= _EPOCH_MS:
        return value / 1000.0 - now
    if value >= _EPOCH_S:
        return value - now
    return value


def parse_reset_value(text: str, now: float) -> float | None:
    """Any reset-header value: a number (see :func:`parse_number_or_epoch`), a Go duration, an
    RFC 3339 timestamp or an HTTP-date; seconds from ``now``, else ``None``."""
    for parse in (parse_number_or_epoch, parse_rfc3339, parse_http_date):
        value = parse(text, now)
        if value is not None:
            return value
    return parse_duration(text)


def _ms_header(h: dict[str, str]) -> float | None:
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = h.get(name)
        if raw is not None and _NUMBER.match(raw.strip()):
            return float(raw) / 1000.0
    return None


def _retry_after_header(h: dict[str, str], now: float) -> float | None:
    raw = h.get("retry-after")
    if raw is None:
        return None
    if _NUMBER.match(raw.strip()):
        return float(raw)
    return parse_http_date(raw, now)


def _reset_headers(h: dict[str, str], now: float) -> float | None:
    exhausted: list[float] = []
    unknown: list[float] = []
    for reset, remaining in _RESET_PAIRS:
        value = parse_reset_value(h[reset], now) if reset in h else None
        if value is None:
            continue
        if remaining not in h:
            unknown.append(value)
        elif _is_zero(h[remaining]):
            exhausted.append(value)
    if exhausted:
        return max(exhausted)
    return min(unknown) if unknown else None


def _is_zero(raw: str | None) -> bool:
    return raw is not None and _NUMBER.match(raw.strip()) is not None and float(raw) <= 0


def _body_hint(body: Any) -> float | None:
    info = extract_error(body)
    if info.retry_delay_s is not None:
        return info.retry_delay_s
    return _text_hint(info.message)


def _text_hint(message: str) -> float | None:
    m = _TEXT_HINT.search(message)
    if not m:
        return None
    token = m.group(1).lower().replace(" ", "")
    parsed = parse_duration(token)
    if parsed is not None:
        return parsed
    number = re.match(r"\d+(?:\.\d+)?", token)
    return float(number.group(0)) if number else None


# --- error envelopes: every shape of providers.md §3.1 -> ErrorInfo ---------------------------------

#: google.rpc status names (Gemini ``error.status``) -> the HTTP status Google pairs them with.
RPC_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
              "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ABORTED": 409,
              "ALREADY_EXISTS": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "INTERNAL": 500,
              "UNKNOWN": 500, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504}
_MAX_MESSAGE = 600


@dataclass(frozen=True)
class ErrorInfo:
    """What the classifier reads from an error body, whatever its shape. ``reasons``: Gemini
    ``ErrorInfo.reason`` and Mistral 422 ``detail[].type`` values; ``quota_ids``: Gemini
    ``QuotaFailure`` ids (and Vertex ``metadata.quota_limit``); ``retry_delay_s``: Gemini
    ``RetryInfo.retryDelay`` in seconds; ``is_error_object``: the body is an error envelope (spots
    200-with-error bodies). ``message`` is clipped to 600 characters, whitespace collapsed."""

    message: str = ""
    code: str | None = None
    type: str | None = None
    status_name: str | None = None
    reasons: tuple[str, ...] = ()
    quota_ids: tuple[str, ...] = ()
    retry_delay_s: float | None = None
    is_error_object: bool = False

    def codes(self) -> set[str]:
        """Lower-case code, type, status name and reasons."""
        return {v.lower() for v in (self.code, self.type, self.status_name, *self.reasons) if v}

    def text(self) -> str:
        """The message, lower-case."""
        return self.message.lower()

    def code_name(self) -> str | None:
        """The most specific code: ``code`` unless numeric, else type, else the rpc status."""
        if self.code and not self.code.isdigit():
            return self.code
        return self.type or self.status_name or self.code or (self.reasons[0] if self.reasons else None)


def extract_error(body: Any) -> ErrorInfo:
    """Normalise an error body (§3.1): OpenAI/llama.cpp/vLLM nested ``{error:{...}}``, vLLM and
    Mistral flat ``{object:"error", message, type, code}``, Anthropic ``{type:"error", error:{type,
    message}}``, Gemini ``{error:{code, message, status, details[]}}`` (also wrapped in a one-element
    list), Mistral 422 ``message: {detail:[...]}``, ``{error: "text"}``, and non-JSON text or HTML."""
    body = _loads(body)
    if isinstance(body, list):
        body = body[0] if body else None
    if isinstance(body, str):
        return ErrorInfo(message=_clip(_strip_html(body)))
    if not isinstance(body, dict):
        return ErrorInfo()
    err = body.get("error")
    if isinstance(err, str) and err:
        return ErrorInfo(message=_clip(err), code=_str(body.get("code")), is_error_object=True)
    is_err = isinstance(err, dict) or body.get("object") == "error" or body.get("type") == "error"
    src = err if isinstance(err, dict) else body
    inner = _nested_json_error(src.get("message"))
    if inner is not None:
        return inner
    message, detail_types = _message(src)
    reasons, quota_ids, retry_delay = _details(src.get("details"))
    status_name = src.get("status") if _is_rpc_name(src.get("status")) else None
    return ErrorInfo(message=message, code=_str(src.get("code")), type=_str(src.get("type")),
                     status_name=status_name, reasons=(*reasons, *detail_types), quota_ids=quota_ids,
                     retry_delay_s=retry_delay, is_error_object=is_err)


def _loads(body: Any) -> Any:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body.strip()
    return body


def _message(src: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    raw = src.get("message", src.get("detail", src.get("msg")))
    if raw is None and isinstance(src.get("status"), str) and not _is_rpc_name(src["status"]):
        raw = src["status"]                              # {status: "come back later"}
    if isinstance(raw, dict):
        raw = raw.get("detail", raw.get("message", ""))
    if isinstance(raw, list):                            # pydantic/FastAPI detail list (Mistral 422)
        items = [d for d in raw if isinstance(d, dict)]
        text = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}" for d in items)
        return _clip(text), tuple(str(d["type"]) for d in items if d.get("type"))
    return _clip(str(raw) if raw is not None else ""), ()


def _details(details: Any) -> tuple[tuple[str, ...], tuple[str, ...], float | None]:
    reasons: list[str] = []
    quota_ids: list[str] = []
    retry_delay: float | None = None
    for d in details if isinstance(details, list) else []:
        if not isinstance(d, dict):
            continue
        kind = str(d.get("@type", ""))
        if d.get("reason"):
            reasons.append(str(d["reason"]))
        meta = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
        if meta.get("quota_limit"):
            quota_ids.append(str(meta["quota_limit"]))
        if "QuotaFailure" in kind:
            quota_ids += [str(v.get("quotaId", "")) for v in d.get("violations", []) if isinstance(v, dict)]
        if "RetryInfo" in kind and isinstance(d.get("retryDelay"), str) and retry_delay is None:
            retry_delay = parse_duration(d["retryDelay"])
    return tuple(reasons), tuple(q for q in quota_ids if q), retry_delay


def _nested_json_error(message: Any) -> ErrorInfo | None:
    """Some front ends put the provider's whole JSON error into ``message`` (gemini-cli, gaxios)."""
    if not isinstance(message, str) or not message.lstrip().startswith(("{", "[")):
        return None
    inner = extract_error(message)
    return inner if inner.is_error_object else None


def _is_rpc_name(value: Any) -> bool:
    return isinstance(value, str) and value in RPC_STATUS


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _strip_html(text: str) -> str:
    title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return title.group(1) if title else re.sub(r"<[^>]+>", " ", text)


def _clip(text: str) -> str:
    return " ".join(text.split())[:_MAX_MESSAGE]
