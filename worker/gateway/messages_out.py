"""The internal :class:`core.chat.ChatResponse` -> an Anthropic ``message`` object (the reverse of
``activities/providers/anthropic.py``'s response mapping).

Shape (Anthropic "Create a Message" response): ``{id: "msg_...", type: "message", role:
"assistant", model, content: [blocks], stop_reason, stop_sequence: null, usage}``. Content: the
text as one ``text`` block (none when empty), then one ``tool_use`` block per tool call (``id``
kept, ``input`` = the parsed JSON ``arguments``; arguments that are not a JSON object are sent as
``{"value": <text>}`` so the block stays valid). ``stop_reason`` from the finish reason:
``stop`` -> ``end_turn``, ``length`` -> ``max_tokens``, ``tool_calls`` -> ``tool_use``,
``content_filter`` -> ``refusal``. The internal response does not say *which* stop sequence ended
the text, so ``stop_sequence`` is always null and a stop on a sequence reads ``end_turn``.
Usage in Anthropic's arithmetic: ``input_tokens`` excludes cache reads, which are
``cache_read_input_tokens``; ``output_tokens`` = completion tokens.
"""

from __future__ import annotations

import json
from typing import Any

from core.chat import ChatResponse, ToolCall, Usage
from core.thinking import blocks_of

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "content_filter": "refusal", "function_call": "tool_use"}


def message_id(workflow_id: str) -> str:
    """The ``msg_...`` id of the answer of ``workflow_id`` (stable, so a retried key gets the same id)."""
    return "msg_" + workflow_id.removeprefix("req-").replace("/", "-")[-48:]


def stop_reason(finish: str | None) -> str:
    """Anthropic's ``stop_reason`` for an OpenAI finish reason (see module docstring)."""
    return STOP_REASONS.get(finish or "stop", "end_turn")


def tool_input(call: ToolCall) -> dict[str, Any]:
    """The ``input`` object of a ``tool_use`` block for ``call`` (see module docstring)."""
    try:
        value = json.loads(call.function.arguments or "{}")
    except ValueError:
        return {"value": call.function.arguments}
    return value if isinstance(value, dict) else {"value": value}


def usage_body(usage: Usage) -> dict[str, int]:
    """``{input_tokens, output_tokens, cache_read_input_tokens}`` (tokens)."""
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    return {"input_tokens": max(0, usage.prompt_tokens - cached), "output_tokens": usage.completion_tokens,
            "cache_read_input_tokens": cached}


def message_body(resp: ChatResponse, msg_id: str) -> dict[str, Any]:
    """The ``message`` object for ``resp`` with id ``msg_id``."""
    choice = resp.choices[0] if resp.choices else None
    content: list[dict[str, Any]] = list(blocks_of(choice.message)) if choice is not None else []
    if choice is not None and choice.message.content:
        content.append({"type": "text", "text": choice.message.content})
    for call in (choice.message.tool_calls or []) if choice is not None else []:
        content.append({"type": "tool_use", "id": call.id, "name": call.function.name, "input": tool_input(call)})
    return {"id": msg_id, "type": "message", "role": "assistant", "model": resp.model, "content": content,
            "stop_reason": stop_reason(choice.finish_reason if choice else None), "stop_sequence": None,
            "usage": usage_body(resp.usage)}
