"""``chat.completion`` bodies and their ``stream: true`` form as server-sent events.

The stream follows OpenAI's event sequence (``shared/providers.md`` section 2.1), built from the
complete answer: this gateway sends it once the workflow has finished (token-by-token streaming
is a later step), so a failure is an ordinary HTTP error, never an error in the middle of a
stream. Per choice: a ``{role: assistant, content: ""}`` delta, the content (one delta), one
delta per tool call (``index``, ``id``, ``type``, ``function{name, arguments}``), then an empty
delta with ``finish_reason``; with ``stream_options.include_usage`` a last chunk with
``choices: []`` and the usage (``usage: null`` on every earlier chunk); then ``data: [DONE]``.
"""

from __future__ import annotations

import json
from typing import Any

from core.chat import ChatResponse, Choice


def completion_body(resp: ChatResponse) -> dict[str, Any]:
    """The response exactly in OpenAI's shape: our own ``usage.estimated`` flag and empty optional
    fields (``tool_calls: null``, missing token details) are left out."""
    body = resp.model_dump(mode="json")
    body["usage"] = _usage(body["usage"])
    for choice in body["choices"]:
        if choice["message"].get("tool_calls") is None:
            choice["message"].pop("tool_calls", None)
    return body


def _usage(usage: dict[str, Any]) -> dict[str, Any]:
    usage.pop("estimated", None)
    return {k: v for k, v in usage.items() if v is not None}


def sse_body(resp: ChatResponse, include_usage: bool) -> bytes:
    """The whole event stream (see module docstring), ``data: {...}\\n\\n`` lines ending in ``[DONE]``."""
    base: dict[str, Any] = {"id": resp.id, "object": "chat.completion.chunk", "created": resp.created,
                            "model": resp.model, "system_fingerprint": resp.system_fingerprint}
    if include_usage:
        base["usage"] = None
    events: list[dict[str, Any]] = []
    for choice in resp.choices:
        events += [{**base, "choices": [delta]} for delta in _deltas(choice)]
    if include_usage:
        events.append({**base, "choices": [], "usage": _usage(resp.usage.model_dump(mode="json"))})
    lines = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events]
    return b"".join(lines) + b"data: [DONE]\n\n"


def _deltas(choice: Choice) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": choice.index, "delta": delta, "logprobs": None, "finish_reason": finish}

    msg = choice.message
    out = [chunk({"role": "assistant", "content": ""})]
    if msg.content:
        out.append(chunk({"content": msg.content}))
    if msg.refusal:
        out.append(chunk({"refusal": msg.refusal}))
    for i, tc in enumerate(msg.tool_calls or []):
        out.append(chunk({"tool_calls": [{"index": i, "id": tc.id, "type": "function",
                                          "function": {"name": tc.function.name,
                                                       "arguments": tc.function.arguments}}]}))
    out.append(chunk({}, choice.finish_reason or "stop"))
    return out
