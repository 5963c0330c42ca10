"""Streaming parser for Anthropic Messages (providers.md §2.2, §4.2 "Streaming conversion").

Input: the named-event SSE body of ``stream: true``: ``message_start`` (the message with empty
content and the input usage), per content block ``content_block_start`` / ``content_block_delta``
(``text_delta``, ``input_json_delta``, ``thinking_delta``, ``signature_delta``, ``citations_delta``) /
``content_block_stop``, one or more ``message_delta`` (``stop_reason``, cumulative
``usage.output_tokens``), ``message_stop``; ``ping`` and unknown events are skipped. The message is
rebuilt block by block (``input_json_delta`` pieces concatenated and parsed at block stop) and
mapped by the adapter's own ``parse_response``, so a streamed answer maps exactly like the same
answer unstreamed.

Deltas: ``text_delta`` -> content; a ``tool_use`` block start -> the first piece of a tool call
(id, name, empty arguments) numbered by a tool counter separate from Anthropic's block index, and
each ``input_json_delta`` -> an arguments piece; ``message_delta.stop_reason`` -> the finish delta.
JSON mode (the forced ``json_tool_call`` tool, ``anthropic_translate.py``): that tool's JSON is the
answer's *content*, so its pieces are content deltas (when the caller's schema had to be wrapped as
``{"value": ...}`` the unwrapped value is one content delta at block stop). ``event: error`` is
classified by its ``error.type`` like the HTTP error (an ``overloaded_error`` is ``Overloaded``, a
"prompt is too long" ``invalid_request_error`` is ``ContextLengthExceeded``). Without
``message_stop`` the stream is ``StreamCut``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from activities.providers.anthropic import STOP_REASONS, parse_response
from activities.providers.anthropic_translate import JSON_TOOL, json_tool_schema
from activities.providers.base import ProviderError
from activities.providers.common import json_text
from activities.providers.sse import SSEDecoder, SSEEvent
from activities.providers.stream_base import StreamDelta, StreamParser, ToolCallDelta, load_json
from core.chat import ChatResponse
from core.errors import ErrorClass


class AnthropicStreamParser(StreamParser):
    """Anthropic SSE body -> deltas and a :class:`ChatResponse` (see module docstring)."""

    protocol = "anthropic"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sse = SSEDecoder()
        self._message: dict[str, Any] | None = None
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json_parts: dict[int, list[str]] = {}
        self._tool_index: dict[int, int] = {}
        self._stopped = False
        self._json_mode = self.call.request.wants_json()
        self._wrapped = json_tool_schema(self.call.request)[1]

    def _frames(self, chunk: bytes) -> Iterable[SSEEvent]:
        return self._sse.feed(chunk)

    def _final_frames(self) -> Iterable[SSEEvent]:
        return self._sse.close()

    def _frame(self, frame: SSEEvent) -> list[StreamDelta]:
        if not frame.data.strip():
            return []
        data = load_json(frame.data, f"stream event {frame.event or ''}".strip())
        kind = frame.event or (data.get("type") if isinstance(data, dict) else None)
        if kind == "error" or (isinstance(data, dict) and data.get("type") == "error"):
            raise self.fail(data)
        if not isinstance(data, dict):
            return []
        handler = {"message_start": self._start, "content_block_start": self._block_start,
                   "content_block_delta": self._block_delta, "content_block_stop": self._block_stop,
                   "message_delta": self._message_delta, "message_stop": self._message_stop}.get(str(kind))
        return handler(data) if handler else []                  # ping and unknown events

    def _start(self, data: dict[str, Any]) -> list[StreamDelta]:
        message = data.get("message")
        self._message = dict(message) if isinstance(message, dict) else {}
        self._message["content"] = []
        return []

    def _is_json_tool(self, block: dict[str, Any]) -> bool:
        return self._json_mode and block.get("type") == "tool_use" and block.get("name") == JSON_TOOL

    def _block_start(self, data: dict[str, Any]) -> list[StreamDelta]:
        index = data.get("index") if isinstance(data.get("index"), int) else len(self._blocks)
        block = dict(data.get("content_block") or {})
        self._blocks[index] = block
        if block.get("type") != "tool_use":
            return []
        self._json_parts[index] = []
        if self._is_json_tool(block):
            return []
        tool = self._tool_index.setdefault(index, len(self._tool_index))
        piece = ToolCallDelta(index=tool, id=str(block.get("id") or ""), name=str(block.get("name") or ""))
        return [StreamDelta(tool_calls=(piece,))]

    def _block_delta(self, data: dict[str, Any]) -> list[StreamDelta]:
        index = data.get("index")
        block = self._blocks.get(index) if isinstance(index, int) else None
        delta = data.get("delta") if isinstance(data.get("delta"), dict) else {}
        if block is None:
            raise ProviderError(ErrorClass.MALFORMED_RESPONSE, f"delta for unknown content block {index}", status=200)
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text") or "")
            block["text"] = str(block.get("text") or "") + text
            return [StreamDelta(content=text)] if text else []
        if kind == "input_json_delta":
            piece = str(delta.get("partial_json") or "")
            self._json_parts.setdefault(index, []).append(piece)
            if self._is_json_tool(block):
                return [StreamDelta(content=piece)] if piece and not self._wrapped else []
            return [StreamDelta(tool_calls=(ToolCallDelta(index=self._tool_index[index], arguments=piece),))]
        if kind in ("thinking_delta", "signature_delta"):
            key = "thinking" if kind == "thinking_delta" else "signature"
            block[key] = str(block.get(key) or "") + str(delta.get(key) or "")
        return []                                                 # citations and unknown deltas

    def _block_stop(self, data: dict[str, Any]) -> list[StreamDelta]:
        index = data.get("index")
        block = self._blocks.get(index) if isinstance(index, int) else None
        if block is None or block.get("type") != "tool_use":
            return []
        raw = "".join(self._json_parts.get(index, []))
        try:
            block["input"] = json.loads(raw) if raw.strip() else (block.get("input") or {})
        except ValueError:
            raise ProviderError(ErrorClass.MALFORMED_RESPONSE, "streamed tool input is not valid JSON",
                                status=200) from None
        if self._is_json_tool(block) and self._wrapped and isinstance(block["input"], dict):
            return [StreamDelta(content=json_text(block["input"].get("value")))]
        return []

    def _message_delta(self, data: dict[str, Any]) -> list[StreamDelta]:
        if self._message is None:
            raise ProviderError(ErrorClass.MALFORMED_RESPONSE, "message_delta before message_start", status=200)
        delta = data.get("delta") if isinstance(data.get("delta"), dict) else {}
        for key in ("stop_reason", "stop_sequence", "stop_details"):
            if delta.get(key) is not None:
                self._message[key] = delta[key]
        usage = data.get("usage")
        if isinstance(usage, dict):
            merged = dict(self._message.get("usage") or {})
            merged.update({k: v for k, v in usage.items() if v is not None})
            self._message["usage"] = merged
        reason = delta.get("stop_reason")
        if not reason:
            return []
        calls = any(b.get("type") == "tool_use" and not self._is_json_tool(b) for b in self._blocks.values())
        finish = STOP_REASONS.get(str(reason), "stop")
        return [StreamDelta(finish_reason="stop" if finish == "tool_calls" and not calls else finish)]

    def _message_stop(self, data: dict[str, Any]) -> list[StreamDelta]:
        self._stopped = True
        return []

    def _complete(self) -> bool:
        return self._stopped and self._message is not None

    def _cut_message(self) -> str:
        if self._message is None:
            return "stream ended before message_start"
        return "stream ended before message_stop"

    def _body(self) -> dict[str, Any]:
        body = dict(self._message or {})
        body["content"] = [self._blocks[i] for i in sorted(self._blocks)]
        body.setdefault("type", "message")
        return body

    def _parse(self, body: dict[str, Any]) -> ChatResponse:
        """Map the rebuilt message; tool arguments and JSON-mode content keep the exact text the
        deltas carried (``parse_response`` would re-serialise the parsed input)."""
        response = parse_response(body, self.call, self.meta)
        message = response.choices[0].message
        raw = {i: "".join(self._json_parts.get(i, [])) for i in sorted(self._json_parts)}
        tools = [raw[i] for i in raw if not self._is_json_tool(self._blocks[i])]
        for call, text in zip(message.tool_calls or [], tools, strict=False):
            call.function.arguments = text if text.strip() else call.function.arguments
        json_raw = [raw[i] for i in raw if self._is_json_tool(self._blocks[i])]
        if json_raw and json_raw[-1].strip() and not self._wrapped:
            message.content = json_raw[-1]
        return response
