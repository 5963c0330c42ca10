"""An Anthropic Messages request -> the internal :class:`core.chat.ChatRequest` (the reverse of
``activities/providers/anthropic_translate.py``, which maps ChatRequest to Anthropic upstream).

Mapping (Anthropic "Create a Message" fields -> OpenAI Chat Completions fields):

- ``system`` (string or text blocks) -> one leading ``system`` message (blocks joined by newlines);
- ``user`` blocks: ``text`` -> text parts; ``image`` with a ``base64`` source -> an ``image_url``
  part with a ``data:`` URL, with a ``url`` source -> an ``image_url`` part with that URL;
  ``document`` with a base64 PDF -> a ``file`` part; ``tool_result`` -> a ``tool`` message
  (``tool_call_id`` = ``tool_use_id``; its content string, or its text blocks joined; image blocks in
  a result are dropped with a note; ``is_error: true`` prefixes the text with ``Error: ``), placed
  before the rest of that user turn, as OpenAI requires tool results right after the call;
- ``assistant`` blocks: ``text`` -> content, ``tool_use`` -> ``tool_calls`` (``input`` serialised
  to the JSON ``arguments`` string); ``thinking`` / ``redacted_thinking`` blocks are kept on the
  assistant message (``core/thinking.py``) for targets that think, and dropped elsewhere, with
  a note (the internal format has no reasoning blocks, so they cannot reach any target);
- ``tools`` -> function tools (``input_schema`` -> ``parameters``); server tools (a ``type``
  other than ``custom``) are a 400: no target behind the gateway runs Anthropic's server tools;
- ``tool_choice`` ``auto``/``any``/``tool``/``none`` -> ``auto``/``required``/named function/
  ``none``; ``disable_parallel_tool_use`` -> ``parallel_tool_calls: false``;
- ``stop_sequences`` -> ``stop``, ``max_tokens``, ``temperature``, ``top_p`` as they are;
  ``top_k`` -> the ``top_k`` extra field, which Anthropic and Gemini targets send and
  OpenAI-protocol targets pass on as sent (vLLM, Ollama accept it);
- ``metadata.user_id`` -> ``user``; ``thinking`` -> ``ChatRequest.thinking`` (``core/thinking.py``);
  unknown top-level fields -> dropped, noted;
- ``cache_control`` / ``citations`` on blocks -> not sent (noted once).

Notes are the strings the endpoint records in the request's ``gateway_notes`` metadata. A block
that cannot be translated is a :class:`GatewayError` (400) with the block's path.
"""

from __future__ import annotations

import json
from typing import Any

from core.chat import ChatMessage, ChatRequest, ToolCall
from core.thinking import BLOCKS, THINKING
from worker.gateway.errors import GatewayError
from worker.gateway.messages_body import InputMessage, MessagesRequest, Tool, ToolChoice

#: Block keys that carry provider hints the internal format has no place for.
_HINT_KEYS = ("cache_control", "citations")
_THINKING = ("thinking", "redacted_thinking")


def to_chat(req: MessagesRequest) -> tuple[ChatRequest, list[str]]:
    """``(chat request, notes)`` for ``req``; raises :class:`GatewayError` (400) for a bad block."""
    notes: list[str] = []
    messages: list[ChatMessage] = []
    if req.system:
        messages.append(ChatMessage(role="system", content=_system_text(req.system, notes)))
    for i, msg in enumerate(req.messages):
        if not msg.content:
            raise _bad(f"messages[{i}].content", "a message needs content (a non-empty string or content blocks)")
        messages += _assistant(msg, i, notes) if msg.role == "assistant" else _user(msg, i, notes)
    fields: dict[str, Any] = {"model": req.model, "messages": messages, "max_tokens": req.max_tokens,
                              "temperature": req.temperature, "top_p": req.top_p, "stream": req.stream,
                              "stop": req.stop_sequences or None}
    if req.top_k is not None:
        fields["top_k"] = req.top_k
    if req.tools:
        fields["tools"] = [_tool(t, i) for i, t in enumerate(req.tools)]
    if req.tool_choice is not None:
        fields.update(_tool_choice(req.tool_choice))
    user_id = (req.metadata or {}).get("user_id")
    if isinstance(user_id, str) and user_id:
        fields["user"] = user_id
    if req.thinking is not None and req.thinking.get("type") == "enabled":
        fields[THINKING] = req.thinking  # passed to targets with the thinking capability (core/thinking.py)
    notes += [f"messages: unknown field {k!r} dropped" for k in sorted(req.model_extra or {})]
    return ChatRequest(**fields), notes


def _system_text(system: str | list[dict[str, Any]], notes: list[str]) -> str:
    if isinstance(system, str):
        return system
    texts = []
    for j, block in enumerate(system):
        if block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise _bad(f"system[{j}]", "system blocks must be text blocks ({\"type\": \"text\", \"text\": ...})")
        _hints(block, notes)
        texts.append(block["text"])
    return "\n".join(texts)


def _blocks(msg: InputMessage) -> list[dict[str, Any]]:
    return [{"type": "text", "text": msg.content}] if isinstance(msg.content, str) else msg.content


def _user(msg: InputMessage, i: int, notes: list[str]) -> list[ChatMessage]:
    results: list[ChatMessage] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(_blocks(msg)):
        path = f"messages[{i}].content[{j}]"
        _hints(block, notes)
        kind = block.get("type")
        if kind == "tool_result":
            results.append(_tool_result(block, path, notes))
        elif kind == "text":
            parts.append({"type": "text", "text": _text(block, path)})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _source_url(block, path, image=True)}})
        elif kind == "document":
            parts.append({"type": "file", "file": {"file_data": _source_url(block, path, image=False)}})
        else:
            raise _bad(f"{path}.type", f"content block type {kind!r} is not supported in a user message "
                                       "(text, image, document, tool_result are)")
    if isinstance(msg.content, str):
        return [ChatMessage(role="user", content=msg.content)]
    return results + ([ChatMessage(role="user", content=parts)] if parts or not results else [])


def _assistant(msg: InputMessage, i: int, notes: list[str]) -> list[ChatMessage]:
    if isinstance(msg.content, str):
        return [ChatMessage(role="assistant", content=msg.content)]
    texts: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[dict[str, Any]] = []
    for j, block in enumerate(msg.content):
        path = f"messages[{i}].content[{j}]"
        _hints(block, notes)
        kind = block.get("type")
        if kind == "text":
            texts.append(_text(block, path))
        elif kind == "tool_use":
            calls.append(_tool_use(block, path))
        elif kind in _THINKING:
            thinking.append(block)  # back to a thinking target unchanged, signature included
        else:
            raise _bad(f"{path}.type", f"content block type {kind!r} is not supported in an assistant message "
                                       "(text, tool_use, thinking are)")
    content = "".join(texts) if texts or not calls else None
    extra = {BLOCKS: thinking} if thinking else {}
    return [ChatMessage(role="assistant", content=content, tool_calls=calls or None, **extra)]


def _text(block: dict[str, Any], path: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise _bad(f"{path}.text", "a text block needs a string 'text'")
    return text


def _tool_use(block: dict[str, Any], path: str) -> ToolCall:
    tid, name, args = block.get("id"), block.get("name"), block.get("input", {})
    if not isinstance(tid, str) or not tid or not isinstance(name, str) or not name:
        raise _bad(path, "a tool_use block needs string 'id' and 'name'")
    if not isinstance(args, dict):
        raise _bad(f"{path}.input", "a tool_use block's 'input' must be an object")
    return ToolCall(id=tid, function={"name": name, "arguments": json.dumps(args, separators=(",", ":"))})


def _tool_result(block: dict[str, Any], path: str, notes: list[str]) -> ChatMessage:
    tid = block.get("tool_use_id")
    if not isinstance(tid, str) or not tid:
        raise _bad(f"{path}.tool_use_id", "a tool_result block needs a string 'tool_use_id'")
    content = block.get("content", "")
    if isinstance(content, list):
        texts = []
        for k, part in enumerate(content):
            if not isinstance(part, dict):
                raise _bad(f"{path}.content[{k}]", "tool_result content must be text or image blocks")
            if part.get("type") == "text":
                texts.append(_text(part, f"{path}.content[{k}]"))
            else:
                _note(notes, f"messages: {part.get('type')} block in a tool_result dropped (tool messages carry text)")
        content = "\n".join(texts)
    if not isinstance(content, str):
        raise _bad(f"{path}.content", "tool_result content must be a string or a list of blocks")
    is_error = block.get("is_error")
    if is_error is not None and not isinstance(is_error, bool):
        raise _bad(f"{path}.is_error", "must be a boolean")
    return ChatMessage(role="tool", tool_call_id=tid, content=f"Error: {content}" if is_error else content)


def _source_url(block: dict[str, Any], path: str, *, image: bool) -> str:
    src = block.get("source")
    if not isinstance(src, dict):
        raise _bad(f"{path}.source", "the block needs a 'source' object")
    if src.get("type") == "base64" and isinstance(src.get("data"), str) and isinstance(src.get("media_type"), str):
        if not image and src["media_type"] != "application/pdf":
            raise _bad(f"{path}.source.media_type", "only application/pdf documents are supported")
        return f"data:{src['media_type']};base64,{src['data']}"
    if image and src.get("type") == "url" and isinstance(src.get("url"), str):
        return str(src["url"])
    kinds = "base64 or url" if image else "base64 (PDF)"
    raise _bad(f"{path}.source", f"unsupported source; this gateway accepts {kinds} sources with their fields")


def _tool(tool: Tool, i: int) -> dict[str, Any]:
    if tool.type not in (None, "custom"):
        raise _bad(f"tools[{i}].type", f"server tool {tool.type!r} is not supported; only client tools "
                                       "(name, description, input_schema) are")
    if tool.input_schema is None:
        raise _bad(f"tools[{i}].input_schema", "Field required")
    fn: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
    if tool.description:
        fn["description"] = tool.description
    return {"type": "function", "function": fn}


def _tool_choice(choice: ToolChoice) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if choice.type == "tool":
        if not choice.name:
            raise _bad("tool_choice.name", "Field required for tool_choice type 'tool'")
        out["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        out["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.type]
    if choice.disable_parallel_tool_use:
        out["parallel_tool_calls"] = False
    return out


def _hints(block: dict[str, Any], notes: list[str]) -> None:
    for key in _HINT_KEYS:
        if key in block:
            _note(notes, f"messages: {key} not sent")


def _note(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)


def _bad(path: str, message: str) -> GatewayError:
    return GatewayError(400, f"{path}: {message}", param=path)
