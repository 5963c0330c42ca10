"""OpenAI Chat Completions request -> Anthropic Messages body (providers.md §1.2, §4.1).

Messages: system/developer messages are hoisted, in order, into top-level ``system`` text blocks
(rules in ``activities/providers/turns.py``; a mid-conversation hoist adds a trace note). ``user``
content parts become ``text`` / ``image`` (data URL -> base64 source with the media type read from
the bytes, ``images.py``; https URL -> url source, fetched by Anthropic) / ``document`` (PDF data
URL) blocks; assistant ``tool_calls`` become ``tool_use`` blocks after the
text; consecutive ``tool`` messages become ``tool_result`` blocks at the start of the next user
turn. Same-role turns are merged; a conversation starting with the assistant gets a minimal user
turn; a final assistant message is a prefill (its trailing whitespace trimmed, which Anthropic
requires). Tool ids are kept when they match ``[a-zA-Z0-9_-]{1,64}`` and otherwise rewritten the same
way on both sides, collision-free (:func:`anthropic_tool_id`).

Parameters: ``max_tokens`` is required (the request's cap, else ``min(target.max_output_tokens,
4096)``; clamped to the target's maximum); ``stop`` -> ``stop_sequences``; ``temperature`` (clamped
to 0..1), ``top_p`` and ``top_k`` only for targets with the ``sampling`` capability (Anthropic SDK
2.x no longer lists them; the newest models reject them, §0 #2); ``user`` -> ``metadata.user_id``;
``tool_choice`` / ``parallel_tool_calls`` per the §4.1 table; JSON mode and ``json_schema`` -> a
forced ``json_tool_call`` tool whose input the adapter returns as the content (LiteLLM's approach,
§4.1; beside the caller's own tools see :func:`_json_choice`). ``output_config.format`` is not
used: Anthropic documents its schema support as a subset (no numeric or string bounds,
``additionalProperties`` only false), so common caller schemas would be refused with a 400, while a
tool's ``input_schema`` takes any JSON Schema object. Not supported and dropped with a trace note:
``n`` > 1, ``seed``, ``logprobs``, ``top_logprobs``, penalties, ``logit_bias`` and every other
OpenAI-only field.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.common import (
    content_parts,
    dropped,
    parse_data_url,
    sampling_allowed,
    text_of,
    tool_arguments,
)
from activities.providers.images import checked_image
from activities.providers.turns import FILLER_TEXT, Block, Turn, hoist_system, shape_turns
from core.chat import ChatMessage, ChatRequest
from core.errors import ErrorClass
from core.thinking import BLOCK_TYPES, THINKING, blocks_of, thinking_of

P = "anthropic"
DEFAULT_MAX_TOKENS = 4096
JSON_TOOL = "json_tool_call"
_ID_OK = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_TOOL_ID = 64
EMPTY_TEXT_NOTE = f"{P}: whitespace-only text parts not sent (Anthropic rejects them)"

# Fields handled below, or deliberately not sent without a note (our own routing data, streaming).
_HANDLED = {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
            "stop", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "n",
            "metadata", "stream", "stream_options", THINKING}


def build_body(call: ProviderCall) -> tuple[dict[str, Any], list[str]]:
    """The Messages API body for ``call`` and the trace notes of what was mapped or dropped."""
    req, notes = call.request, []
    system, rest = hoist_system(req.messages, notes, P)
    body: dict[str, Any] = {"model": call.target.model, "max_tokens": _max_tokens(call, notes),
                            "messages": [{"role": t.role, "content": t.blocks} for t in _turns(rest, notes)]}
    if system:
        body["system"] = [{"type": "text", "text": s} for s in system]
    body.update(_sampling(req, notes, sampling_allowed(call, notes, P)))
    body.update(_tools(req, notes))
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if req.n and req.n > 1:
        notes.append(f"{P}: n={req.n} not supported; one choice returned")
    if req.stream:
        notes.append(f"{P}: stream=true served without streaming by this adapter")
    _thinking(call, body, notes)
    fields = set(req.model_dump(exclude_none=True))
    dropped(notes, P, [k for k in fields - _HANDLED])
    return body, notes


def _thinking(call: ProviderCall, body: dict[str, Any], notes: list[str]) -> None:
    """Extended thinking (``core/thinking.py``): the request's ``thinking`` to a target with the
    ``thinking`` capability (Anthropic requires ``budget_tokens`` below ``max_tokens``, and no
    ``temperature``/``top_k`` with it); elsewhere the request field and the history's blocks go."""
    wanted = thinking_of(call.request)
    if "thinking" in call.target.capabilities:
        if wanted is not None:
            budget = int(wanted.get("budget_tokens") or 1024)
            body["thinking"] = {"type": "enabled", "budget_tokens": min(budget, body["max_tokens"] - 1)}
            for name in ("temperature", "top_k"):
                if body.pop(name, None) is not None:
                    notes.append(f"{P}: {name} dropped (not allowed with thinking)")
        return
    if wanted is not None:
        notes.append(f"{P}: thinking dropped ({call.target.id} has no thinking capability)")
    for turn in body["messages"]:
        if isinstance(turn["content"], list):
            turn["content"] = [b for b in turn["content"] if b.get("type") not in BLOCK_TYPES]


def anthropic_tool_id(tool_call_id: str) -> str:
    """A tool id Anthropic accepts (``[a-zA-Z0-9_-]+``, at most 64 characters): kept when valid, else
    the valid characters (``_`` for the others, at most 40) plus ``_`` and 12 hex characters of the
    id's SHA-256, so two different ids never map to the same one (``call.1`` and ``call:1`` stay
    apart) and the same id always maps the same way on the call and on its result."""
    if _ID_OK.match(tool_call_id) and len(tool_call_id) <= MAX_TOOL_ID:
        return tool_call_id
    digest = hashlib.sha256(tool_call_id.encode()).hexdigest()[:12]
    return f"{re.sub(r'[^a-zA-Z0-9_-]', '_', tool_call_id)[:40]}_{digest}"


def json_tool_schema(req: ChatRequest) -> tuple[dict[str, Any], bool]:
    """The ``json_tool_call`` input schema for a JSON request, and whether the caller's schema was
    wrapped as ``{"value": schema}`` because Anthropic tool inputs must be objects."""
    fmt = req.response_format or {}
    schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
    if not schema:
        return {"type": "object"}, False
    if schema.get("type") == "object":
        return schema, False
    return {"type": "object", "properties": {"value": schema}, "required": ["value"]}, True


def _max_tokens(call: ProviderCall, notes: list[str]) -> int:
    cap = call.request.output_cap()
    limit = call.target.max_output_tokens
    if cap is None:
        return min(limit, DEFAULT_MAX_TOKENS)
    if cap > limit:
        notes.append(f"{P}: max_tokens {cap} clamped to the target's maximum {limit}")
        return limit
    return cap


def _sampling(req: ChatRequest, notes: list[str], allowed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if allowed:
        out.update(_temperature_top(req, notes))
    stops = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    kept = [s for s in stops if s.strip()]
    if len(kept) < len(stops):
        notes.append(f"{P}: dropped whitespace-only stop sequences")
    if kept:
        out["stop_sequences"] = kept
    return out


def _temperature_top(req: ChatRequest, notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if req.temperature is not None:
        out["temperature"] = min(req.temperature, 1.0)
        if req.temperature > 1.0:
            notes.append(f"{P}: temperature {req.temperature:g} clamped to 1 (Anthropic range 0..1)")
    if req.top_p is not None:
        out["top_p"] = req.top_p
    top_k = (req.model_extra or {}).get("top_k")
    if isinstance(top_k, int):
        out["top_k"] = top_k
    return out


def _tools(req: ChatRequest, notes: list[str]) -> dict[str, Any]:
    tools = [_tool(t, notes) for t in req.tools or []]
    tools = [t for t in tools if t is not None]
    choice = _tool_choice(req.tool_choice, req.model_extra or {}, notes)
    if req.wants_json():
        schema, _ = json_tool_schema(req)
        tools.append({"name": JSON_TOOL, "description": "Respond with JSON matching this schema.",
                      "input_schema": schema})
        choice = _json_choice(choice, len(tools) > 1, notes)
    if not tools:
        if choice is not None:
            notes.append(f"{P}: tool_choice dropped (no tools)")
        return {}
    return {"tools": tools, **({"tool_choice": choice} if choice else {})}


def _json_choice(choice: dict[str, Any] | None, other_tools: bool, notes: list[str]) -> dict[str, Any] | None:
    """The ``tool_choice`` of a JSON request. Alone, or when the caller's tools may not be called
    (``none``), the JSON tool is forced. Beside the caller's tools with ``auto``: ``any``, so the model
    either calls a tool or answers through the JSON tool (OpenAI's "a tool call or JSON content");
    ``required`` or a named tool keep the caller's choice."""
    parallel = {"disable_parallel_tool_use": True} if (choice or {}).get("disable_parallel_tool_use") else {}
    if not other_tools or (choice or {}).get("type") == "none":
        notes.append(f"{P}: response_format mapped to forced tool {JSON_TOOL}")
        return {"type": "tool", "name": JSON_TOOL}
    if choice is None or choice.get("type") == "auto":
        notes.append(f"{P}: response_format beside tools: tool_choice any (a tool call, or JSON through {JSON_TOOL})")
        return {"type": "any", **parallel}
    notes.append(f"{P}: response_format beside a required tool call: {JSON_TOOL} offered, not forced")
    return choice


def _tool(tool: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    fn = tool.get("function") if tool.get("type", "function") == "function" else None
    if not isinstance(fn, dict) or not fn.get("name"):
        notes.append(f"{P}: dropped a tool of type {tool.get('type')!r} (only function tools translate)")
        return None
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    out = {"name": fn["name"], "input_schema": params}
    if fn.get("description"):
        out["description"] = fn["description"]
    return out


def _tool_choice(choice: Any, extra: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    mapped: dict[str, Any] | None
    if choice is None:
        mapped = None
    elif isinstance(choice, dict):
        mapped = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    else:
        mapped = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}.get(choice)
    if extra.get("parallel_tool_calls") is False:
        mapped = mapped or {"type": "auto"}
        if mapped["type"] != "none":
            mapped["disable_parallel_tool_use"] = True
    return mapped


def _turns(messages: list[ChatMessage], notes: list[str]) -> list[Turn]:
    turns = [_turn(m, notes) for m in messages]
    shaped = shape_turns(turns, is_result=lambda b: b.get("type") == "tool_result",
                         filler={"type": "text", "text": FILLER_TEXT}, notes=notes, protocol=P)
    _trim_prefill(shaped, notes)
    return shaped


def _trim_prefill(turns: list[Turn], notes: list[str]) -> None:
    """A final assistant turn is a prefill, and Anthropic rejects one that ends with whitespace
    ("final assistant content cannot end with trailing whitespace"): trim its last text block."""
    last = turns[-1] if turns and turns[-1].role == "assistant" else None
    if last is None or not last.blocks or last.blocks[-1].get("type") != "text":
        return
    text = last.blocks[-1]["text"]
    if text != text.rstrip():
        last.blocks[-1] = {**last.blocks[-1], "text": text.rstrip()}
        notes.append(f"{P}: trailing whitespace trimmed from the assistant prefill")


def _turn(msg: ChatMessage, notes: list[str]) -> Turn:
    if msg.role == "assistant":
        blocks = [*blocks_of(msg), *_content_blocks(msg.content, notes)]  # thinking first, as Anthropic sent it
        for tc in msg.tool_calls or []:
            blocks.append({"type": "tool_use", "id": anthropic_tool_id(tc.id), "name": tc.function.name,
                           "input": tool_arguments(tc)})
        return Turn("assistant", blocks)
    if msg.role == "tool":
        block: Block = {"type": "tool_result", "tool_use_id": anthropic_tool_id(msg.tool_call_id or "")}
        text = text_of(msg.content)
        if text.strip():
            block["content"] = text
        return Turn("user", [block])
    if msg.role == "function":
        notes.append(f"{P}: deprecated function-role message sent as user text")
    return Turn("user", _content_blocks(msg.content, notes))


def _content_blocks(content: str | list[dict[str, Any]] | None, notes: list[str]) -> list[Block]:
    blocks: list[Block] = []
    for part in content_parts(content):
        kind = part.get("type")
        if kind in ("text", "refusal"):
            text = str(part.get("text") or part.get("refusal") or "")
            if text.strip():                  # Anthropic rejects empty and whitespace-only text blocks
                blocks.append({"type": "text", "text": text})
            elif text and EMPTY_TEXT_NOTE not in notes:
                notes.append(EMPTY_TEXT_NOTE)
        elif kind == "image_url":
            blocks.extend(_image(part.get("image_url") or {}, notes))
        elif kind == "file" and (doc := _document(part.get("file") or {})):
            blocks.append(doc)
        else:
            notes.append(f"{P}: dropped a content part of type {kind!r}")
    return blocks


def _image(image: dict[str, Any], notes: list[str]) -> list[Block]:
    url = str(image.get("url", ""))
    data = parse_data_url(url)
    if data:
        img = checked_image(data[0], data[1], P)
        if img.note:
            notes.append(img.note)
        return [{"type": "image", "source": {"type": "base64", "media_type": img.mime, "data": img.b64}}]
    if url.startswith(("https://", "http://")):
        return [{"type": "image", "source": {"type": "url", "url": url}}]
    raise ProviderError(ErrorClass.LOCAL_INVALID, "image_url.url must be an http(s) URL or a base64 data URL")


def _document(file: dict[str, Any]) -> Block | None:
    data = parse_data_url(str(file.get("file_data", "")))
    if data and data[0] == "application/pdf":
        return {"type": "document", "source": {"type": "base64", "media_type": data[0], "data": data[1]}}
    return None
