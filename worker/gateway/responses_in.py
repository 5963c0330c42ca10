"""A Responses API request (``POST /v1/responses``, its stateless core) as a ``ChatRequest``.

Served (OpenAI API reference, "Create a model response"): ``model``, ``input`` (a string, or a
list of items: messages with ``role`` user | system | developer | assistant and content as a
string or ``input_text`` / ``input_image`` / ``output_text`` / ``refusal`` parts, ``function_call``
and ``function_call_output`` items; ``reasoning`` items are dropped), ``instructions``, ``tools``
(``type: function`` only), ``tool_choice``, ``parallel_tool_calls``, ``text.format`` (``text``,
``json_object``, ``json_schema``), ``max_output_tokens``, ``temperature``, ``top_p``, ``store``,
``metadata``, ``previous_response_id``, ``stream``, ``user``. Anything else that changes the
answer is refused with a 400 naming the field (``param``), never silently ignored: built-in tools
(``web_search``, ``file_search``, ``computer_use``, ...), ``background``, ``conversation``,
``prompt``, ``truncation: auto``, ``include`` items, ``reasoning`` options, ``top_logprobs``,
``max_tool_calls``, file inputs. ``service_tier`` and ``safety_identifier`` are accepted and have
no effect (the route picks the model and tier).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.chat import ChatMessage, ChatRequest, FunctionCall, ToolCall
from worker.gateway.errors import GatewayError

UNSUPPORTED = {
    "background": "background responses are not served; send the request without 'background'",
    "conversation": "conversation objects are not served; chain turns with 'previous_response_id'",
    "prompt": "stored prompt templates are not served; send 'instructions' and 'input'",
    "top_logprobs": "log probabilities are not served",
    "max_tool_calls": "'max_tool_calls' is not served",
}


@dataclass
class ResponsesRequest:
    """The parsed request: ``chat`` (its ``messages`` hold only this request's input, with the
    ``instructions`` first as a system message), the echoed request fields, and what the stored
    chain needs (``input_messages``: this request's input without the instructions)."""

    chat: ChatRequest
    model: str
    stream: bool
    store: bool
    previous_response_id: str | None
    instructions: str | None
    input_messages: list[ChatMessage]
    echo: dict[str, Any] = field(default_factory=dict)


def _bad(message: str, param: str | None) -> GatewayError:
    return GatewayError(400, message, param=param)


def parse_responses(raw: bytes) -> ResponsesRequest:
    """The validated request; raises :class:`GatewayError` 400 naming the bad field."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise _bad("We could not parse the JSON body of your request.", None) from None
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.", None)
    for name, why in UNSUPPORTED.items():
        if body.get(name) not in (None, False):
            raise _bad(f"'{name}': {why}.", name)
    if body.get("truncation") not in (None, "disabled"):
        raise _bad("'truncation': only 'disabled' is served (the gateway does not drop input to fit).", "truncation")
    if body.get("include"):
        raise _bad("'include': no extra output items are served.", "include")
    reasoning = body.get("reasoning")
    if reasoning not in (None, {}) and any(v is not None for v in (reasoning or {}).values()):
        raise _bad("'reasoning': reasoning options are not served (the route picks the model).", "reasoning")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' is required.", "model")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise _bad("'instructions' must be a string.", "instructions")
    messages = input_messages(body.get("input"))
    fields = _fields(body)
    system = [ChatMessage(role="system", content=instructions)] if instructions else []
    try:
        chat = ChatRequest(model=model, messages=system + messages, **fields)
    except ValueError as e:
        raise _bad(f"Invalid request: {e}", None) from None
    prev = body.get("previous_response_id")
    if prev is not None and not isinstance(prev, str):
        raise _bad("'previous_response_id' must be a string.", "previous_response_id")
    echo = {k: body.get(k) for k in ("tools", "tool_choice", "text", "temperature", "top_p", "max_output_tokens",
                                     "parallel_tool_calls", "metadata", "instructions")}
    return ResponsesRequest(chat=chat, model=model, stream=bool(body.get("stream")),
                            store=body.get("store", True) is not False, previous_response_id=prev,
                            instructions=instructions, input_messages=messages, echo=echo)


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for src, dst in (("temperature", "temperature"), ("top_p", "top_p"), ("max_output_tokens", "max_tokens"),
                     ("parallel_tool_calls", "parallel_tool_calls")):
        if body.get(src) is not None:
            out[dst] = body[src]
    if body.get("metadata") is not None:
        if not isinstance(body["metadata"], dict) or not all(isinstance(v, str) for v in body["metadata"].values()):
            raise _bad("'metadata' must be an object of strings.", "metadata")
        out["metadata"] = body["metadata"]
    tools = _tools(body.get("tools") or [])
    if tools:
        out["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None:
        out["tool_choice"] = choice
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if fmt is not None:
        out["response_format"] = _format(fmt)
    return out


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise _bad("'tools' must be a list.", "tools")
    chat_tools = []
    for i, t in enumerate(tools):
        kind = t.get("type") if isinstance(t, dict) else None
        if kind != "function":
            raise _bad(f"'tools[{i}].type' {kind!r} is not served: only function tools are (built-in tools such as "
                       "web_search or file_search run inside OpenAI and cannot fail over).", f"tools[{i}].type")
        if not isinstance(t.get("name"), str):
            raise _bad(f"'tools[{i}].name' is required.", f"tools[{i}].name")
        fn = {"name": t["name"], "parameters": t.get("parameters") or {"type": "object", "properties": {}}}
        if t.get("description"):
            fn["description"] = t["description"]
        if t.get("strict") is not None:
            fn["strict"] = t["strict"]
        chat_tools.append({"type": "function", "function": fn})
    return chat_tools


def _tool_choice(choice: Any) -> str | dict[str, Any] | None:
    if isinstance(choice, dict):
        if choice.get("type") != "function" or not isinstance(choice.get("name"), str):
            raise _bad("'tool_choice' must be 'auto', 'none', 'required' or {type: 'function', name}.", "tool_choice")
        return {"type": "function", "function": {"name": choice["name"]}}
    if choice is not None and choice not in ("auto", "none", "required"):
        raise _bad("'tool_choice' must be 'auto', 'none', 'required' or {type: 'function', name}.", "tool_choice")
    return choice


def _format(fmt: Any) -> dict[str, Any] | None:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        if not isinstance(fmt.get("schema"), dict) or not isinstance(fmt.get("name"), str):
            raise _bad("'text.format' of type json_schema needs 'name' and 'schema'.", "text.format.schema")
        schema = {"name": fmt["name"], "schema": fmt["schema"]}
        if fmt.get("strict") is not None:
            schema["strict"] = fmt["strict"]
        return {"type": "json_schema", "json_schema": schema}
    raise _bad(f"'text.format.type' {kind!r} is not one of text, json_object, json_schema.", "text.format.type")


def input_messages(value: Any) -> list[ChatMessage]:
    """The chat messages of a Responses ``input`` (see module docstring); raises 400 naming the item."""
    if isinstance(value, str):
        return [ChatMessage(role="user", content=value)]
    if not isinstance(value, list) or not value:
        raise _bad("'input' is required: a string or a non-empty list of items.", "input")
    out: list[ChatMessage] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _bad(f"'input[{i}]' must be an object.", f"input[{i}]")
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            out.append(_message(item, i))
        elif kind == "function_call":
            fn = FunctionCall(name=str(item.get("name", "")), arguments=item.get("arguments") or "{}")
            call = ToolCall(id=str(item.get("call_id") or item.get("id") or f"call_{i}"), function=fn)
            if out and out[-1].role == "assistant" and out[-1].tool_calls is not None:
                out[-1].tool_calls.append(call)
            else:
                out.append(ChatMessage(role="assistant", content=None, tool_calls=[call]))
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else json.dumps(output)
            out.append(ChatMessage(role="tool", tool_call_id=str(item.get("call_id", "")), content=text))
        elif kind == "reasoning":
            continue
        else:
            raise _bad(f"'input[{i}].type' {kind!r} is not served (messages, function_call and function_call_output "
                       "items are).", f"input[{i}].type")
    return out


def _message(item: dict[str, Any], i: int) -> ChatMessage:
    role = item.get("role")
    if role not in ("user", "system", "developer", "assistant"):
        raise _bad(f"'input[{i}].role' must be user, system, developer or assistant.", f"input[{i}].role")
    content = item.get("content")
    if isinstance(content, str):
        return ChatMessage(role="system" if role == "developer" else role, content=content)
    if not isinstance(content, list):
        raise _bad(f"'input[{i}].content' must be a string or a list of parts.", f"input[{i}].content")
    parts: list[dict[str, Any]] = []
    for j, p in enumerate(content):
        kind = p.get("type") if isinstance(p, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": str(p.get("text", ""))})
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(p.get("refusal", ""))})
        elif kind == "input_image" and isinstance(p.get("image_url"), str):
            image: dict[str, Any] = {"url": p["image_url"]}
            if p.get("detail"):
                image["detail"] = p["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise _bad(f"'input[{i}].content[{j}].type' {kind!r} is not served (input_text, output_text and "
                       "input_image with an image_url are).", f"input[{i}].content[{j}].type")
    role = "system" if role == "developer" else role
    if role in ("system", "assistant"):  # text-only roles: join the parts
        return ChatMessage(role=role, content="\n".join(p["text"] for p in parts if p["type"] == "text"))
    return ChatMessage(role=role, content=parts)
