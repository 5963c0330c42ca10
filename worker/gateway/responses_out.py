"""A ``ChatResponse`` as a Responses API ``response`` object (OpenAI API reference, "The response object").

``output`` holds a ``message`` item (one ``output_text`` part, ``annotations: []``) when the answer
has text and one ``function_call`` item per tool call (``call_id`` is the tool call's id, so the
caller's ``function_call_output`` finds it). ``status`` is ``completed``, or ``incomplete`` with
``incomplete_details.reason`` ``max_output_tokens`` / ``content_filter`` for a ``length`` /
``content_filter`` finish. ``usage``: ``input_tokens`` (cached included, as OpenAI counts),
``output_tokens``, ``total_tokens`` and their details. Ids are stable per workflow (``resp_``,
``msg_``, ``fc_`` + the workflow id's tail), so a retried Idempotency-Key gets the same ids.
"""

from __future__ import annotations

import time
from typing import Any

from core.chat import ChatResponse, ToolCall, Usage


def response_id(workflow_id: str) -> str:
    """The ``resp_...`` id of the answer of ``workflow_id``."""
    return "resp_" + workflow_id.removeprefix("req-").replace("/", "-")[-48:]


def message_item(rid: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": "msg_" + rid.removeprefix("resp_"), "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def call_item(rid: str, index: int, call: ToolCall, status: str = "completed") -> dict[str, Any]:
    return {"type": "function_call", "id": f"fc_{rid.removeprefix('resp_')}_{index}", "call_id": call.id,
            "name": call.function.name, "arguments": call.function.arguments or "{}", "status": status}


def usage_body(usage: Usage) -> dict[str, Any]:
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    reasoning = usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else 0
    return {"input_tokens": usage.prompt_tokens, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": usage.completion_tokens, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def output_items(rid: str, resp: ChatResponse) -> list[dict[str, Any]]:
    msg = resp.choices[0].message
    items = [message_item(rid, msg.content)] if msg.content else []
    items += [call_item(rid, i, c) for i, c in enumerate(msg.tool_calls or [])]
    return items


def response_body(rid: str, resp: ChatResponse | None, echo: dict[str, Any], *, previous: str | None, store: bool,
                  status: str | None = None, created_at: int | None = None) -> dict[str, Any]:
    """The ``response`` object (see module docstring); ``resp=None`` gives the in-progress shell
    the stream's first events carry."""
    finish = resp.choices[0].finish_reason if resp is not None and resp.choices else None
    incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(finish or "")
    body: dict[str, Any] = {
        "id": rid, "object": "response", "created_at": created_at or int(time.time()),
        "status": status or ("incomplete" if incomplete else "completed"),
        "error": None, "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": echo.get("instructions"), "max_output_tokens": echo.get("max_output_tokens"),
        "model": resp.model if resp is not None else echo.get("model", ""),
        "output": output_items(rid, resp) if resp is not None else [],
        "parallel_tool_calls": echo.get("parallel_tool_calls") if echo.get("parallel_tool_calls") is not None else True,
        "previous_response_id": previous, "store": store, "temperature": echo.get("temperature"),
        "text": echo.get("text") or {"format": {"type": "text"}}, "tool_choice": echo.get("tool_choice") or "auto",
        "tools": echo.get("tools") or [], "top_p": echo.get("top_p"), "truncation": "disabled",
        "metadata": echo.get("metadata") or {}, "usage": usage_body(resp.usage) if resp is not None else None,
    }
    return body
