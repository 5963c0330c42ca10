"""Reading the simulator's raw streamed bodies in the tests: frames, their JSON, the content they
carry and whether the final event came. Request bodies for each protocol, text or forced tool call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

QUESTION = "How does database replication handle network partitions?"
TOOL_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
               "required": ["city", "days"]}
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages",
         "gemini": "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"}
WHOLE_PATHS = {**PATHS, "gemini": "/v1beta/models/gemini-2.0-flash:generateContent"}


def body_for(protocol: str, *, tool: bool = False, stream: bool = True, question: str = QUESTION) -> dict:
    """A request body asking ``question`` (a forced ``get_weather`` call with ``tool``)."""
    if protocol == "openai":
        body: dict = {"model": "gpt-4o", "messages": [{"role": "user", "content": question}], "stream": stream}
        if tool:
            body |= {"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": TOOL_SCHEMA}}],
                     "tool_choice": "required"}
        return body
    if protocol == "anthropic":
        body = {"model": "claude-sonnet-4", "max_tokens": 1000, "stream": stream,
                "messages": [{"role": "user", "content": question}]}
        if tool:
            body |= {"tools": [{"name": "get_weather", "input_schema": TOOL_SCHEMA}], "tool_choice": {"type": "any"}}
        return body
    body = {"contents": [{"role": "user", "parts": [{"text": question}]}]}
    if tool:
        body |= {"tools": [{"functionDeclarations": [{"name": "get_weather", "parameters": TOOL_SCHEMA}]}],
                 "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}
    return body


async def post(http: httpx.AsyncClient, protocol: str, body: dict, stream: bool = True) -> httpx.Response:
    """POST ``body`` to the protocol's (streaming or whole-answer) path."""
    return await http.post((PATHS if stream else WHOLE_PATHS)[protocol], json=body)


@dataclass(frozen=True)
class Frame:
    """One SSE event: its ``event:`` name (or None), its ``data:`` text, and that text as JSON (None
    if it is not JSON)."""

    event: str | None
    data: str
    value: Any


def _decode(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def frames(raw: bytes) -> list[Frame]:
    """The SSE events of a body (``\\n\\n`` or ``\\r\\n\\r\\n`` separated)."""
    out = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        text = "\n".join(data)
        out.append(Frame(event, text, None if text == "[DONE]" else _decode(text)))
    return out


def _openai(value: dict) -> tuple[str, str]:
    text, args = "", ""
    for choice in value.get("choices") or []:
        delta = choice.get("delta") or {}
        text += delta.get("content") or ""
        args += "".join((c.get("function") or {}).get("arguments") or "" for c in delta.get("tool_calls") or [])
    return text, args


def _anthropic(value: dict) -> tuple[str, str]:
    delta = value.get("delta") or {} if value.get("type") == "content_block_delta" else {}
    return delta.get("text") or "", delta.get("partial_json") or ""


def _gemini(value: dict) -> tuple[str, str]:
    parts = ((value.get("candidates") or [{}])[0].get("content") or {}).get("parts") or []
    text = "".join(p.get("text") or "" for p in parts)
    args = "".join(json.dumps(p["functionCall"].get("args")) for p in parts if "functionCall" in p)
    return text, args


READERS = {"openai": _openai, "anthropic": _anthropic, "gemini": _gemini}


def content(protocol: str, found: list[Frame]) -> tuple[str, str]:
    """Answer text and tool-call argument text carried by the JSON frames."""
    text, args = "", ""
    for frame in found:
        if isinstance(frame.value, dict):
            more_text, more_args = READERS[protocol](frame.value)
            text, args = text + more_text, args + more_args
    return text, args


def has_final(protocol: str, found: list[Frame]) -> bool:
    """Whether the protocol's final event came: ``[DONE]``, ``message_stop``, a ``finishReason``."""
    if protocol == "openai":
        return any(f.data == "[DONE]" for f in found)
    if protocol == "anthropic":
        return any(f.event == "message_stop" for f in found)
    return any(isinstance(f.value, dict) and any("finishReason" in c for c in f.value.get("candidates") or [])
               for f in found)
