"""Validate an Anthropic Messages request body (``POST /v1/messages``) into :class:`MessagesRequest`.

Fields as in Anthropic's API reference ("Create a Message"): ``model`` and ``max_tokens`` are
required (Anthropic answers 400 without them), ``messages`` has at least one ``user`` /
``assistant`` message whose content is a string or a list of content blocks, ``system`` is a
string or a list of text blocks, ``temperature`` 0..1, ``top_p`` 0..1, ``top_k`` >= 0. Parsing is
pydantic's JSON parser in strict mode (no ``"1"`` for 1), standard JSON only (no ``NaN``). Content
blocks stay plain objects here and are checked block by block in ``messages_in.py``. Top-level
fields this gateway does not translate (``service_tier``, ``container``, ...) are kept in
``model_extra`` and reported as dropped in the request's ``gateway_notes`` metadata.

Every problem is a :class:`worker.gateway.errors.GatewayError` (400) naming the field, which the
endpoint answers in Anthropic's error shape (``messages_errors.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import from_json

from worker.gateway.body import invalid
from worker.gateway.errors import GatewayError


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class InputMessage(_Open):
    """One of ``messages[]``: ``content`` a string or a list of content blocks (objects with ``type``)."""

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class Tool(_Open):
    """A client tool: ``name``, ``description``, ``input_schema`` (a JSON Schema object). Server
    tools (``type`` such as ``web_search_20250305``) are refused in ``messages_in.py``."""

    name: str = Field(min_length=1)
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None


class ToolChoice(_Open):
    """``{"type": "auto" | "any" | "tool" | "none", "name"?, "disable_parallel_tool_use"?}``."""

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MessagesRequest(_Open):
    """A validated Messages request body (see module docstring); token counts in tokens."""

    model: str
    max_tokens: int = Field(ge=1)
    messages: list[InputMessage] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    metadata: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    stream: bool | None = None


def parse_messages(body: bytes) -> MessagesRequest:
    """The validated request; raises :class:`GatewayError` (400) naming the offending field."""
    if not body.strip():
        raise GatewayError(400, "The request body is empty; expected a JSON object with 'model', 'max_tokens' "
                                "and 'messages'.")
    try:
        from_json(body, allow_inf_nan=False)
    except ValueError as e:
        raise GatewayError(400, f"The request body is not valid JSON: {e}.") from None
    try:
        return MessagesRequest.model_validate_json(body, strict=True)
    except ValidationError as e:
        missing = [err for err in e.errors() if err["type"] == "missing" and len(err["loc"]) == 1]
        if missing:
            field = missing[0]["loc"][0]
            raise GatewayError(400, f"{field}: Field required", param=str(field)) from None
        raise invalid(e) from None
