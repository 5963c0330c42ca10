"""Streaming parser for Gemini ``streamGenerateContent`` (providers.md §1.3, §2.3).

Input, detected from the first byte: SSE (``?alt=sse``: each ``data:`` line one whole
``GenerateContentResponse``, no ``[DONE]``) or the JSON-array mode without ``alt=sse`` (one array
written element by element). Each chunk's ``candidates[].content.parts`` hold only what is new:
text parts are appended to the candidate's last text part of the same kind (thought or answer);
``functionCall`` parts arrive whole and are kept whole (with their ``thoughtSignature``); the
``finishReason`` comes on the candidate's last chunk; the last ``usageMetadata`` is authoritative.
The merged response is mapped by the adapter's own ``parse_response``.

Deltas: answer text -> content (thought text is never content, §4.2); a ``functionCall`` -> one
tool-call delta carrying the id the final response will have (Gemini 3's own ``id``, else the
synthesised ``call_<hash>`` of ``gemini.py``), the name and the full arguments; ``finishReason`` ->
the finish delta (``STOP`` after a function call is ``tool_calls``). A ``{"error": ...}`` chunk is
classified like the HTTP error (§2.3 "Mid-stream error"). The stream is complete when every
candidate has a finish reason, or the prompt was blocked (``promptFeedback.blockReason``);
otherwise it is ``StreamCut``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from activities.providers.base import ProviderError
from activities.providers.common import json_text
from activities.providers.gemini import finish_reason, parse_response, tool_call_id
from activities.providers.sse import JSONArrayDecoder, SSEDecoder
from activities.providers.stream_base import StreamDelta, StreamParser, ToolCallDelta, is_error_frame, load_json
from core.chat import ChatResponse
from core.errors import ErrorClass

_TOP_FIELDS = ("modelVersion", "responseId", "promptFeedback", "usageMetadata", "createTime")


class GeminiStreamParser(StreamParser):
    """Gemini stream body (SSE or JSON array) -> deltas and a :class:`ChatResponse`."""

    protocol = "gemini"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decoder: SSEDecoder | JSONArrayDecoder | None = None
        self._candidates: dict[int, dict[str, Any]] = {}
        self._calls: dict[int, int] = {}
        self._top: dict[str, Any] = {}
        self._chunks = 0

    def _frames(self, chunk: bytes) -> Iterable[Any]:
        if self._decoder is None:
            head = chunk.lstrip()
            if not head:
                return []
            self._decoder = JSONArrayDecoder() if head.startswith(b"[") else SSEDecoder()
        try:
            frames = self._decoder.feed(chunk)
        except ValueError as e:
            raise ProviderError(ErrorClass.MALFORMED_RESPONSE, f"stream body: {e}", status=200) from None
        return self._decoded(frames)

    def _final_frames(self) -> Iterable[Any]:
        return self._decoded(self._decoder.close()) if self._decoder is not None else []

    @staticmethod
    def _decoded(frames: list[Any]) -> list[Any]:
        """JSON-array elements are already parsed; SSE events carry JSON text."""
        return [load_json(f.data, "stream chunk") if hasattr(f, "data") else f
                for f in frames if not hasattr(f, "data") or f.data.strip()]

    def _frame(self, chunk: Any) -> list[StreamDelta]:
        if is_error_frame(chunk):
            raise self.fail(chunk)
        if not isinstance(chunk, dict):
            raise ProviderError(ErrorClass.MALFORMED_RESPONSE, "stream chunk is not a JSON object", status=200)
        self._chunks += 1
        self._top.update({k: chunk[k] for k in _TOP_FIELDS if chunk.get(k) is not None})
        out: list[StreamDelta] = []
        for position, raw in enumerate(chunk.get("candidates") or []):
            if isinstance(raw, dict):
                out += self._candidate(raw, position)
        return out

    def _candidate(self, raw: dict[str, Any], position: int) -> list[StreamDelta]:
        index = raw.get("index") if isinstance(raw.get("index"), int) else position
        acc = self._candidates.setdefault(index, {"index": index, "content": {"role": "model", "parts": []}})
        acc.update({k: v for k, v in raw.items() if k not in ("content", "index")})
        out: list[StreamDelta] = []
        for part in (raw.get("content") or {}).get("parts") or []:
            if isinstance(part, dict):
                out += self._part(acc, index, part)
        if raw.get("finishReason"):
            made_calls = any("functionCall" in p for p in acc["content"]["parts"])
            out.append(StreamDelta(index=index, finish_reason=finish_reason(raw["finishReason"], made_calls)))
        return out

    def _part(self, acc: dict[str, Any], index: int, part: dict[str, Any]) -> list[StreamDelta]:
        parts: list[dict[str, Any]] = acc["content"]["parts"]
        if "functionCall" in part:
            fc = part["functionCall"] or {}
            call_id = tool_call_id(fc, index, len(parts))
            parts.append(dict(part))
            tool = self._calls[index] = self._calls.get(index, -1) + 1
            piece = ToolCallDelta(index=tool, id=call_id, name=str(fc.get("name", "")),
                                  arguments=json_text(fc.get("args") or {}))
            return [StreamDelta(index=index, tool_calls=(piece,))]
        text = part.get("text")
        if not isinstance(text, str):
            parts.append(dict(part))
            return []
        last = parts[-1] if parts else None
        if last is not None and isinstance(last.get("text"), str) and bool(last.get("thought")) == bool(
                part.get("thought")) and "functionCall" not in last:
            last["text"] += text
            if part.get("thoughtSignature"):
                last["thoughtSignature"] = part["thoughtSignature"]
        else:
            parts.append(dict(part))
        return [StreamDelta(index=index, content=text)] if text and not part.get("thought") else []

    def _complete(self) -> bool:
        if (self._top.get("promptFeedback") or {}).get("blockReason"):
            return True
        return bool(self._candidates) and all(c.get("finishReason") for c in self._candidates.values())

    def _cut_message(self) -> str:
        return "stream ended before any chunk" if not self._chunks else "stream ended before a finishReason"

    def _body(self) -> dict[str, Any]:
        return {"candidates": [self._candidates[i] for i in sorted(self._candidates)], **self._top}

    def _parse(self, body: dict[str, Any]) -> ChatResponse:
        return parse_response(body, self.call, self.meta)
