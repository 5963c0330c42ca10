"""What the three streaming parsers share: the delta type, the parser contract, in-stream errors.

A parser is pure and incremental: bytes of a 200 response body in, OpenAI-shaped deltas out, and at
the end the whole answer as a :class:`core.chat.ChatResponse`, mapped exactly as the non-streaming
adapter maps the same answer (each parser rebuilds the provider's non-streaming body from the
events and hands it to the adapter's ``parse_response``)::

    parser = openai_stream_parser(call, headers)      # or anthropic_/gemini_stream_parser
    for chunk in body_chunks:
        for delta in parser.feed(chunk):              # raises ProviderError on an error event
            forward(delta)
    response = parser.close()                         # raises ProviderError (StreamCut, ...)

Errors inside a 200 stream (Anthropic ``event: error``, a ``data: {"error": ...}`` line, a Gemini
``{"error": ...}`` element) are classified by ``core/classify.py`` exactly like the HTTP answer
they stand for (providers.md §2.2, §5 row 4), so a context-length error as the first event is
``ContextLengthExceeded``. Deltas decoded *before* the error in the same ``feed`` are returned
first; the error is raised by the next ``feed`` or by ``close``. ``content_started`` tells whether
any content was produced before the failure (the commit point of §2.5: until then the caller may
still fail over invisibly). A body that ends before the protocol's final event is ``StreamCut``
(§5 row 3); a frame that is not JSON is ``MalformedResponse``. A 200 body that is one JSON object
rather than a stream (a server that ignored the streaming switch, a "200 with an error body") is
read whole at ``close`` and handled like the same non-streaming answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.common import ResponseMeta, error_from
from core.chat import ChatResponse, FinishReason
from core.classify import classify_http, classify_success_body
from core.errors import ErrorClass


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of one tool call, as in OpenAI's ``delta.tool_calls[]``: the first piece of a call
    carries ``id`` and ``name``; later pieces only ``arguments`` fragments (concatenate by ``index``)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class StreamDelta:
    """One OpenAI ``chat.completion.chunk`` delta for choice ``index``: new ``content`` text,
    tool-call pieces, or the choice's ``finish_reason`` (already mapped to OpenAI's values)."""

    index: int = 0
    content: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: FinishReason | None = None


class StreamParser:
    """Base of the protocol parsers. ``headers``: the 200 response's headers (reset hints for a
    rate-limit error event); ``now``: unix seconds for date-valued hints (default: the clock);
    ``translated``: the request was rewritten for this target (``core/classify.py``); ``meta``: our
    id and ``created`` for the answer (default: derived from the body, deterministic)."""

    protocol = ""

    def __init__(self, call: ProviderCall, headers: Mapping[str, str] | None = None, *,
                 now: float | None = None, translated: bool | None = None,
                 meta: ResponseMeta | None = None) -> None:
        self.call = call
        self.meta = meta
        self.headers: Mapping[str, str] = headers or {}
        self.now = now
        self.translated = translated
        self.content_started = False
        self._pending_error: ProviderError | None = None
        self._closed = False
        self._whole: bytearray | None = None      # set when the 200 body is one JSON object, not a stream
        self._whole_json: Any = None
        self._started = False

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        """Deltas decoded from ``chunk``; raises a :class:`ProviderError` received earlier."""
        self._raise_pending()
        if not self._started and chunk.strip():
            self._started = True
            if chunk.lstrip().startswith(b"{"):
                self._whole = bytearray()
        if self._whole is not None:
            self._whole += chunk
            return []
        deltas: list[StreamDelta] = []
        try:
            for frame in self._frames(chunk):
                deltas += self._frame(frame)
        except ProviderError as err:
            if not deltas:
                raise
            self._pending_error = err
        self.content_started = self.content_started or any(d.content or d.tool_calls for d in deltas)
        return deltas

    def close(self) -> ChatResponse:
        """End of body: the assembled answer, or the classified failure."""
        self._raise_pending()
        self._closed = True
        if self._whole is not None:
            body = self._whole_body()
        else:
            for frame in self._final_frames():
                self._frame(frame)
            if not self._complete():
                raise ProviderError(ErrorClass.STREAM_CUT, self._cut_message(), status=200)
            body = self._body()
        verdict = classify_success_body(self.protocol, body, headers=self.headers, now=self._now(),
                                        translated=self.translated)
        if verdict is not None:
            raise error_from(verdict, 200)
        return self._parse(body)

    def _whole_body(self) -> Any:
        """A 200 answer that is one JSON object instead of a stream (a server that ignored the
        streaming switch, or an error body such as LM Studio's): an error is raised as classified,
        anything else is checked and mapped as the non-streaming answer it is."""
        body = load_json(bytes(self._whole or b"").decode("utf-8", "replace"), "response body")
        if is_error_frame(body):
            raise self.fail(body)
        self._whole_json = body
        return body

    def raw_body(self) -> Any:
        """The provider's non-streaming body rebuilt from the events so far (for trace notes)."""
        return self._whole_json if self._whole is not None else self._body()

    # --- for subclasses -------------------------------------------------------------------------

    def _frames(self, chunk: bytes) -> Iterable[Any]:
        raise NotImplementedError

    def _final_frames(self) -> Iterable[Any]:
        raise NotImplementedError

    def _frame(self, frame: Any) -> list[StreamDelta]:
        raise NotImplementedError

    def _complete(self) -> bool:
        raise NotImplementedError

    def _cut_message(self) -> str:
        return "stream ended before its final event"

    def _body(self) -> Any:
        """The provider's non-streaming body, rebuilt from the events."""
        raise NotImplementedError

    def _parse(self, body: Any) -> ChatResponse:
        raise NotImplementedError

    # --- shared helpers -------------------------------------------------------------------------

    def _now(self) -> float:
        return time.time() if self.now is None else self.now

    def _raise_pending(self) -> None:
        if self._pending_error is not None:
            raise self._pending_error
        if self._closed:
            raise RuntimeError("stream parser already closed")

    def fail(self, error_body: Any) -> ProviderError:
        """The :class:`ProviderError` for an error object received inside the 200 stream."""
        verdict = classify_http(self.protocol, None, self.headers, error_body, now=self._now(),
                                translated=self.translated)
        return error_from(verdict, 200)


def load_json(data: str, what: str) -> Any:
    """``json.loads`` for one stream frame; a frame that does not parse is ``MalformedResponse``."""
    try:
        return json.loads(data)
    except ValueError:
        raise ProviderError(ErrorClass.MALFORMED_RESPONSE, f"{what} is not JSON", status=200) from None


def is_error_frame(value: Any) -> bool:
    """A top-level ``error`` object (OpenAI, vLLM, llama.cpp, Gemini) or a flat vLLM/Mistral error
    (``object: "error"``)."""
    return isinstance(value, dict) and ("error" in value or value.get("object") == "error"
                                        or value.get("type") == "error")


def parse_chunks(parser: StreamParser, chunks: Iterable[bytes]) -> tuple[list[StreamDelta], ChatResponse]:
    """Run a whole body through ``parser``: every delta and the final answer (tests, replays)."""
    deltas: list[StreamDelta] = []
    for chunk in chunks:
        deltas += parser.feed(chunk)
    return deltas, parser.close()
