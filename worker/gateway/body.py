"""Read and validate a Chat Completions body: size limit, JSON, types. Nothing invalid goes further.

The body is read with a hard cap (``Content-Length`` is checked first, then the bytes actually
received, so a chunked upload cannot exceed it either): 413 above ``gateway.max_body_bytes``. It is
then checked to be standard JSON (no ``NaN``/``Infinity``) and parsed into
:class:`core.chat.ChatRequest` with pydantic's JSON parser in **strict** mode: no string-to-number
or number-to-string coercion (OpenAI rejects ``"temperature": "1"`` too). Every problem becomes a
400 in OpenAI's shape naming the field (``param``), e.g.
``Invalid value for 'messages[0].role': Input should be 'system', 'developer', ...``.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import from_json
from starlette.requests import ClientDisconnect, Request

from core.chat import ChatRequest
from worker.gateway.errors import GatewayError

#: At most this many validation problems are listed in one error message.
MAX_LISTED = 5


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes; raises :class:`GatewayError` (400/413)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise GatewayError(400, "Invalid Content-Length header.")
        if int(declared) > limit:
            raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise GatewayError(400, "The client closed the connection before sending the whole body.") from None
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> GatewayError:
    return GatewayError(413, f"Request body too large: {size} bytes; this gateway accepts at most {limit} bytes.",
                        code="request_too_large")


def parse_chat(body: bytes) -> ChatRequest:
    """The validated request; raises :class:`GatewayError` (400) with the offending field."""
    if not body.strip():
        raise GatewayError(400, "The request body is empty; expected a JSON object with 'messages'.")
    try:  # standard JSON only: NaN and Infinity are not JSON, and providers reject them
        from_json(body, allow_inf_nan=False)
    except ValueError as e:
        raise GatewayError(400, f"We could not parse the JSON body of your request: {e}. Send a JSON object "
                                "with 'messages'.") from None
    try:
        chat = ChatRequest.model_validate_json(body, strict=True)
    except ValidationError as e:
        raise invalid(e) from None
    for i, m in enumerate(chat.messages):  # as OpenAI: only an assistant turn with tool calls may omit content
        if m.content is None and not (m.role == "assistant" and m.tool_calls):
            raise GatewayError(400, f"Invalid value for 'messages[{i}].content': a {m.role} message needs content "
                                    "(a string or an array of content parts); null is allowed only on an assistant "
                                    "message with tool_calls.", param=f"messages[{i}].content", code="invalid_value")
    return chat


def invalid(e: ValidationError) -> GatewayError:
    """The 400 for a body pydantic rejected: every problem (at most :data:`MAX_LISTED`) with its field's
    path, the first one's path as ``param``."""
    errors = e.errors(include_url=False, include_context=False, include_input=False)
    first = errors[0]
    if first["type"] in ("json_invalid", "json_type"):
        return GatewayError(400, "We could not parse the JSON body of your request: "
                                 f"{first['msg']}. Send a JSON object with 'messages'.")
    if first["type"] == "model_type" and not first["loc"]:
        return GatewayError(400, "The request body must be a JSON object with 'messages'.")
    listed = [f"Invalid value for '{_path(err['loc'])}': {err['msg']}" for err in errors[:MAX_LISTED]]
    more = f" (and {len(errors) - MAX_LISTED} more)" if len(errors) > MAX_LISTED else ""
    return GatewayError(400, "; ".join(listed) + more, param=_path(first["loc"]), code="invalid_value")


#: Union-member tags pydantic puts in an error's location (``messages[0].content.str``); not fields.
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "dict", "list", "none", "function-after", "literal"})


def _path(loc: tuple[int | str, ...]) -> str:
    """The field's path as the caller wrote it, without pydantic's union-member tags."""
    out = ""
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in _UNION_TAGS):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"
