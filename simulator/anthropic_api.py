"""Anthropic Messages on the wire (providers.md §1.2, §2.2, §3.1, §3.5).

Request: ``POST /v1/messages`` with required ``model``, ``max_tokens`` and ``messages`` (string or
block content: ``text``, ``tool_use``, ``tool_result``), optional ``system`` (string or text blocks),
``tools`` (``input_schema``) + ``tool_choice`` (``any`` or ``tool`` force a call), structured output
through ``output_config.format`` (``{type: json_schema, schema}``; the beta ``output_format`` too),
``stream``. Auth ``x-api-key`` (or ``Authorization: Bearer``) and ``anthropic-version``.

Response: a ``message`` with ``text`` / ``tool_use`` blocks, ``stop_reason`` (``end_turn``,
``max_tokens``, ``tool_use``) and ``usage``. Streams: named SSE events ``message_start``,
``content_block_start``, ``ping``, ``content_block_delta`` (``text_delta`` / ``input_json_delta``),
``content_block_stop``, ``message_delta`` (cumulative ``usage.output_tokens``), ``message_stop``.
A mid-stream failure is ``event: error`` with ``{"type": "error", "error": {"type": "overloaded_error",
"message": "Overloaded"}}`` (Anthropic's "Error events" in its streaming docs), then the end of the body.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from simulator.answer import ANY_TOOL, Answer, Ask, ToolSpec
from simulator.continuation import Continuation, anthropic_partial
from simulator.errors import anthropic_error, anthropic_headers
from simulator.protocol import (
    DEFAULT_CHUNKING,
    Chunking,
    Event,
    FaultFrame,
    Protocol,
    Reply,
    WireError,
    dumps,
    sse_named,
    text_of,
)
from simulator.ratelimit import RateDecision

STOP = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use"}
PING_EVERY = 40  # content deltas between pings
STREAM_ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    if block.get("type") == "tool_use":
        return f"{block.get('name', '')} {dumps(block.get('input', {}))}"
    if block.get("type") == "tool_result":
        return text_of(block.get("content"))
    return block.get("text") or ""


def _content_text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(t for t in (_block_text(b) for b in content) if t)
    return _block_text(content)


def _forced(choice: Any) -> str | None:
    if not isinstance(choice, dict):
        return None
    if choice.get("type") == "any":
        return ANY_TOOL
    if choice.get("type") == "tool":
        return choice.get("name") or ANY_TOOL
    return None


def _output_format(body: dict) -> dict:
    config = body.get("output_config") if isinstance(body.get("output_config"), dict) else {}
    fmt = config.get("format") or body.get("output_format")
    return fmt if isinstance(fmt, dict) else {}


class AnthropicProtocol(Protocol):
    """Anthropic Messages."""

    name = "anthropic"

    def _bad(self, message: str) -> WireError:
        return self.wire_error(400, "", message)

    def _require(self, body: dict) -> None:
        for field, kind in (("model", str), ("max_tokens", int), ("messages", list)):
            if field not in body:
                raise self._bad(f"{field}: Field required")
            if not isinstance(body[field], kind) or isinstance(body[field], bool):
                raise self._bad(f"{field}: Input should be a valid {kind.__name__}")
        temperature = body.get("temperature")
        if isinstance(temperature, int | float) and not 0 <= temperature <= 1:  # providers.md §0, gotcha 2
            raise self._bad(f"temperature: range: 0..1 (got {temperature})")

    def parse(self, body: Any, path_model: str | None, stream: bool) -> Ask:
        """Read a messages body (``thinking``: Anthropic's rule, ``1024 <= budget_tokens < max_tokens``)."""
        if not isinstance(body, dict):
            raise self._bad("There was an error parsing the body of your request: the body must be a JSON object")
        self._require(body)
        messages = body["messages"]
        system = _content_text(body.get("system") or "")
        texts = ([system] if system else []) + [_content_text(m.get("content")) for m in messages
                                                 if isinstance(m, dict)]
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        tools = tuple(ToolSpec(t["name"], t.get("input_schema") or {}) for t in body.get("tools") or []
                      if isinstance(t, dict) and t.get("name") and "input_schema" in t)
        fmt = _output_format(body)
        last_user = _content_text(users[-1].get("content")) if users else (texts[-1] if texts else "")
        partial = anthropic_partial(messages)
        turns = tuple(texts[1:] if system else texts)
        budget = _thinking_budget(body)
        return Ask(
            model=body["model"],
            texts=tuple(texts),
            last_user=last_user,
            stream=bool(body.get("stream")),
            json_asked=fmt.get("type") == "json_schema",
            json_schema=fmt.get("schema"),
            tools=tools,
            forced_tool=_forced(body.get("tool_choice")) if tools else None,
            max_tokens=body["max_tokens"],
            tools_text=dumps(body.get("tools")) if tools else "",
            continuation=None if partial is None else Continuation(partial, False, turns[:-1], last_user),
            turns=turns,
            thinking_budget=budget,
            system=system,
        )

    @staticmethod
    def _content(answer: Answer, ask: Ask | None = None) -> list[dict]:
        head = [thinking_block(ask)] if ask is not None and ask.thinking_budget else []
        return head + AnthropicProtocol._answer_blocks(answer)

    @staticmethod
    def _answer_blocks(answer: Answer) -> list[dict]:
        if answer.tool_call:
            call = answer.tool_call
            return [{"type": "tool_use", "id": f"toolu_{call.id_suffix}", "name": call.name, "input": call.args}]
        return [{"type": "text", "text": answer.text}] if answer.text else []

    @staticmethod
    def _message(answer: Answer, reply: Reply, content: list, stop: str | None, output: int) -> dict:
        return {
            "id": f"msg_{reply.uid}", "type": "message", "role": "assistant", "model": reply.model,
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": answer.prompt_tokens, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": output, "service_tier": "standard"},
        }

    def render(self, ask: Ask, answer: Answer, reply: Reply) -> dict:
        """A ``message`` object."""
        return self._message(answer, reply, self._content(answer, ask), STOP[answer.finish], answer.completion_tokens)

    def stream(self, ask: Ask, answer: Answer, reply: Reply, sse: bool = True,
               chunking: Chunking = DEFAULT_CHUNKING) -> list[Event]:
        """Named SSE events from ``message_start`` to ``message_stop``."""
        start = self._message(answer, reply, [], None, 1)
        events = [Event(sse_named("message_start", {"type": "message_start", "message": start}), "head")]
        if answer.tool_call:
            call = answer.tool_call
            block = {"type": "tool_use", "id": f"toolu_{call.id_suffix}", "name": call.name, "input": {}}
            pieces = ["", *chunking.split(call.arguments, 24)]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        else:
            block = {"type": "text", "text": ""}
            pieces = chunking.split(answer.text)
            deltas = [{"type": "text_delta", "text": p} for p in pieces]
        events.append(Event(sse_named("content_block_start", {"type": "content_block_start", "index": 0,
                                                              "content_block": block}), "head"))
        events.append(Event(sse_named("ping", {"type": "ping"}), "ping"))
        for i, (piece, delta) in enumerate(zip(pieces, deltas, strict=True), 1):
            data = {"type": "content_block_delta", "index": 0, "delta": delta}
            events.append(Event(sse_named("content_block_delta", data), "content", len(piece)))
            if i % PING_EVERY == 0:
                events.append(Event(sse_named("ping", {"type": "ping"}), "ping"))
        events.append(Event(sse_named("content_block_stop", {"type": "content_block_stop", "index": 0}), "tail"))
        delta = {"type": "message_delta", "delta": {"stop_reason": STOP[answer.finish], "stop_sequence": None},
                 "usage": {"output_tokens": answer.completion_tokens}}
        events.append(Event(sse_named("message_delta", delta), "tail"))
        events.append(Event(sse_named("message_stop", {"type": "message_stop"}), "tail"))
        return events

    def fault_frame(self, kind: FaultFrame, reply: Reply, sse: bool, first: bool) -> bytes:
        """``event: error`` with an ``overloaded_error``, or a ``content_block_delta`` broken off mid-JSON."""
        if kind == "error":
            return sse_named("error", STREAM_ERROR)
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n'

    def without_final(self, events: list[Event], ask: Ask, answer: Answer, reply: Reply,
                      sse: bool) -> list[Event]:
        """Everything up to ``message_delta`` (stop reason included), without ``message_stop``."""
        return events[:-1]

    def error_body(self, status: int, model: str, reply: Reply, rate: RateDecision | None = None,
                   message: str | None = None) -> dict:
        """Anthropic's ``{"type": "error", "error": {type, message}, "request_id"}``."""
        return anthropic_error(status, model, reply.request_id, rate, message)

    def headers(self, reply: Reply, rate: RateDecision, status: int) -> dict[str, str]:
        """``request-id``, ``anthropic-ratelimit-*``, ``retry-after`` on 429/503/529."""
        return anthropic_headers(reply.request_id, rate, status)

    def has_credentials(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        """``x-api-key`` or ``Authorization: Bearer``."""
        return bool(headers.get("x-api-key")) or headers.get("authorization", "").lower().startswith("bearer ")

    def missing_key_error(self, reply: Reply) -> tuple[int, dict]:
        """401 ``authentication_error`` as Anthropic sends it without a key."""
        return 401, anthropic_error(401, "", reply.request_id, message="x-api-key header is required")


def _thinking_budget(body: dict) -> int | None:
    """The extended-thinking budget asked for, validated as Anthropic does; raises ``WireError`` 400."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024 or budget >= int(body.get("max_tokens") or 0):
        raise AnthropicProtocol._bad("thinking.budget_tokens: must be at least 1024 and less than max_tokens")
    return budget


def thinking_block(ask: Ask) -> dict:
    """A ``thinking`` block with a signature, as extended thinking returns one before the answer."""
    thought = f"The user asks: {ask.last_user[:160]}. I should answer plainly and check the details first."
    signature = base64.b64encode(hashlib.sha256(thought.encode()).digest()).decode()
    return {"type": "thinking", "thinking": thought, "signature": signature}
