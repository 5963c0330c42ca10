"""Streaming parser for OpenAI Chat Completions and every OpenAI-compatible server (providers.md §2.1, §2.4).

Input: the SSE body of ``stream: true`` (``data:`` lines of ``chat.completion.chunk`` objects, then
``data: [DONE]``). Per choice index: ``delta.content`` and ``delta.refusal`` fragments are
concatenated; ``delta.tool_calls[]`` fragments are joined by their ``index`` (the first carries
``id``, ``type`` and ``function.name``; later ones ``function.arguments`` pieces); ``finish_reason``
comes on the choice's last chunk; ``logprobs.content`` entries are appended. The usage-only chunk
(``choices: []``, sent with ``stream_options.include_usage``) gives the usage; without it the usage
is estimated and flagged, as for a non-streaming answer without usage.

Robustness: a tool-call fragment without ``index`` continues the last call (or starts one when it
carries an ``id``); a fragment with a *new* ``id`` at an index already holding another call starts a
new call (some servers, Mistral among them, send every whole call at index 0). The stream is
complete at ``[DONE]``, or at the end of the body once every choice has a finish reason (servers
that omit ``[DONE]``); anything else is ``StreamCut``. A ``data: {"error": ...}`` line (OpenAI,
vLLM, llama.cpp) or a flat ``{"object": "error", ...}`` line is classified like the HTTP error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from activities.providers.common import json_text
from activities.providers.openai import OpenAIAdapter
from activities.providers.sse import SSEDecoder, SSEEvent
from activities.providers.stream_base import StreamDelta, StreamParser, ToolCallDelta, is_error_frame, load_json
from core.chat import ChatResponse, FinishReason

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                                    "content_filter": "content_filter", "function_call": "function_call",
                                    "model_length": "length"}


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Choice:
    text: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: list[_Call] = field(default_factory=list)
    by_wire_index: dict[int, int] = field(default_factory=dict)
    finish: str | None = None
    logprobs: list[Any] = field(default_factory=list)


class OpenAIStreamParser(StreamParser):
    """``chat.completion.chunk`` SSE body -> deltas and a :class:`ChatResponse` (see module docstring)."""

    protocol = "openai"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sse = SSEDecoder()
        self._choices: dict[int, _Choice] = {}
        self._head: dict[str, Any] = {}
        self._usage: dict[str, Any] | None = None
        self._done = False

    def _frames(self, chunk: bytes) -> Iterable[SSEEvent]:
        return self._sse.feed(chunk)

    def _final_frames(self) -> Iterable[SSEEvent]:
        return self._sse.close()

    def _frame(self, frame: SSEEvent) -> list[StreamDelta]:
        data = frame.data.strip()
        if data == "[DONE]":
            self._done = True
            return []
        if not data:
            return []
        chunk = load_json(data, "stream chunk")
        if is_error_frame(chunk):
            raise self.fail(chunk)
        if not isinstance(chunk, dict):
            return []
        for key in ("id", "created", "model", "system_fingerprint"):
            if chunk.get(key) is not None:
                self._head.setdefault(key, chunk[key])
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        return [d for raw in chunk.get("choices") or [] if isinstance(raw, dict) for d in self._choice(raw)]

    def _choice(self, raw: dict[str, Any]) -> list[StreamDelta]:
        index = raw.get("index") if isinstance(raw.get("index"), int) else 0
        acc = self._choices.setdefault(index, _Choice())
        delta = raw.get("delta") if isinstance(raw.get("delta"), dict) else {}
        out: list[StreamDelta] = []
        text = delta.get("content")
        if isinstance(text, str) and text:
            acc.text.append(text)
            out.append(StreamDelta(index=index, content=text))
        if isinstance(delta.get("refusal"), str):
            acc.refusal.append(delta["refusal"])
        pieces = [self._tool_piece(acc, tc) for tc in delta.get("tool_calls") or [] if isinstance(tc, dict)]
        if pieces:
            out.append(StreamDelta(index=index, tool_calls=tuple(pieces)))
        logprobs = raw.get("logprobs")
        if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
            acc.logprobs += logprobs["content"]
        if raw.get("finish_reason") and acc.finish is None:
            acc.finish = str(raw["finish_reason"])
            finish = _FINISH.get(acc.finish, "tool_calls" if acc.calls else "stop")
            out.append(StreamDelta(index=index, finish_reason=finish))
        return out

    def _tool_piece(self, acc: _Choice, raw: dict[str, Any]) -> ToolCallDelta:
        fn = raw.get("function") if isinstance(raw.get("function"), dict) else {}
        wire, new_id = raw.get("index"), raw.get("id") or None
        pos = acc.by_wire_index.get(wire) if isinstance(wire, int) else (len(acc.calls) - 1 if acc.calls else None)
        if pos is not None and new_id and acc.calls[pos].id and acc.calls[pos].id != new_id:
            pos = None                                    # a second whole call at the same index
        first = pos is None
        if first:
            acc.calls.append(_Call())
            pos = len(acc.calls) - 1
            if isinstance(wire, int):
                acc.by_wire_index[wire] = pos
        call = acc.calls[pos]
        call.id = call.id or (new_id or "")
        call.name = call.name or str(fn.get("name") or "")
        if isinstance(raw.get("extra_content"), dict):
            call.extra["extra_content"] = raw["extra_content"]
        args = fn.get("arguments")
        piece = args if isinstance(args, str) else json_text(args) if args is not None else ""
        call.arguments += piece
        return ToolCallDelta(index=pos, id=new_id if first else None, name=call.name if first else None,
                             arguments=piece)

    def _complete(self) -> bool:
        return self._done or (bool(self._choices) and all(c.finish for c in self._choices.values()))

    def _cut_message(self) -> str:
        if not self._choices:
            return "stream ended before any chunk"
        return "stream ended without [DONE] and without a finish_reason"

    def _body(self) -> dict[str, Any]:
        choices = [self._choice_body(i, c) for i, c in sorted(self._choices.items())]
        body: dict[str, Any] = {"object": "chat.completion", **self._head, "choices": choices}
        if self._usage is not None:
            body["usage"] = self._usage
        return body

    @staticmethod
    def _choice_body(index: int, c: _Choice) -> dict[str, Any]:
        calls = [{"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}, **t.extra}
                 for t in c.calls]
        text = "".join(c.text)
        message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
        if c.refusal:
            message["refusal"] = "".join(c.refusal)
        if calls:
            message["tool_calls"] = calls
        return {"index": index, "message": message, "finish_reason": c.finish,
                "logprobs": {"content": c.logprobs} if c.logprobs else None}

    def _parse(self, body: dict[str, Any]) -> ChatResponse:
        return OpenAIAdapter().parse_response(body, self.call, self.meta)
