"""The contract every wire protocol (OpenAI, Anthropic, Gemini) implements, plus shared helpers.

A protocol turns a parsed JSON body into an :class:`~simulator.answer.Ask`, and an
:class:`~simulator.answer.Answer` into either one JSON body or a list of stream :class:`Event` s
already framed for the wire (SSE ``data:`` lines, named SSE events, or JSON-array pieces). Event
kinds drive pacing and stream cuts: ``head`` events go out with the first ``content`` event after the
time to first token; ``content`` events are spread over the rest of the latency; ``tail`` events (the
final chunk, usage, ``[DONE]``, ``message_stop``) are what a cut stream never sends; ``ping`` events
do not count as chunks. Each event also carries ``chars``: the characters of answer text or tool-call
arguments it delivers, so a stream fault can land after an exact number of tokens.

Stream faults (scenario key ``stream_fault``, applied by ``simulator.stream_faults``) use the hooks
:meth:`Protocol.fault_frame` (an in-stream error event or a frame that is not JSON, in the provider's
framing), :meth:`Protocol.prefix` (the stream up to N characters of content), :meth:`Protocol.without_final`
(everything but the final event) and :meth:`Protocol.tool_cut` (a tool call cut inside its arguments).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from simulator.answer import Answer, Ask, new_id
from simulator.ratelimit import RateDecision

EventKind = Literal["head", "content", "tail", "ping"]
FaultFrame = Literal["error", "malformed"]
CHUNK_CHARS = 16  # about 4 tokens per streamed text chunk
TOKEN_CHARS = 4  # one token per chunk when the stream is paced by ``tokens_per_s`` (simulator.text rule)


@dataclass(frozen=True)
class Event:
    """One framed piece of a streamed body; ``chars``: answer text / argument characters it carries."""

    data: bytes
    kind: EventKind
    chars: int = 0


@dataclass(frozen=True)
class Chunking:
    """How streamed text (or tool arguments) is cut into chunks.

    ``token_chunks``: one token (4 characters) per chunk, used when ``tokens_per_s`` paces the stream;
    otherwise pieces of about ``size`` characters split after spaces. ``break_at`` (characters) forces a
    chunk boundary there, so a fault after N tokens lands exactly after ``4 * N`` characters.
    """

    token_chunks: bool = False
    break_at: int | None = None

    def split(self, text: str, size: int = CHUNK_CHARS) -> list[str]:
        """``text`` in chunks (see the class docstring)."""
        cut = self.break_at
        if cut is not None and 0 < cut < len(text):
            return self._split(text[:cut], size) + self._split(text[cut:], size)
        return self._split(text, size)

    def _split(self, text: str, size: int) -> list[str]:
        if self.token_chunks:
            return [text[i:i + TOKEN_CHARS] for i in range(0, len(text), TOKEN_CHARS)]
        return split_text(text, size)


DEFAULT_CHUNKING = Chunking()


def events_through(events: list[Event], chars: int) -> list[Event]:
    """The leading events up to ``chars`` characters of content, never a ``tail`` event: head,
    pings and content events in order, stopping before the first that would pass ``chars``."""
    kept: list[Event] = []
    done = 0
    for event in events:
        if event.kind == "tail" or done + event.chars > chars:
            break
        done += event.chars
        kept.append(event)
    return kept


@dataclass(frozen=True)
class Reply:
    """Identity of one response: a random ``uid``, the request id header value (``req_<uid>``),
    the model name as served, creation time (epoch seconds)."""

    uid: str
    request_id: str
    model: str
    created: int

    @classmethod
    def new(cls, prefix: str, model: str) -> Reply:
        """A fresh reply identity with a request id like ``req_<hex>``."""
        uid = new_id()
        return cls(uid, f"{prefix}{uid}", model, int(time.time()))


class WireError(Exception):
    """A request rejected by the protocol itself (unreadable body, missing field): status and body."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


class Protocol(ABC):
    """One provider's wire format."""

    name: ClassVar[str]
    request_id_prefix: ClassVar[str] = "req_"

    @abstractmethod
    def parse(self, body: Any, path_model: str | None, stream: bool) -> Ask:
        """The request as an :class:`Ask`; raises :class:`WireError` (400) for a malformed body."""

    @abstractmethod
    def render(self, ask: Ask, answer: Answer, reply: Reply) -> dict:
        """The non-streaming success body."""

    @abstractmethod
    def stream(self, ask: Ask, answer: Answer, reply: Reply, sse: bool = True,
               chunking: Chunking = DEFAULT_CHUNKING) -> list[Event]:
        """The streamed success body as framed events."""

    @abstractmethod
    def fault_frame(self, kind: FaultFrame, reply: Reply, sse: bool, first: bool) -> bytes:
        """One in-stream frame: the provider's real mid-stream ``error`` event, or a ``malformed``
        frame whose payload is not JSON. ``first``: nothing of the body has been framed yet."""

    def prefix(self, events: list[Event], chars: int, ask: Ask, answer: Answer, reply: Reply,
               sse: bool) -> list[Event]:
        """The stream up to ``chars`` characters of content, without the final event."""
        return events_through(events, chars)

    def without_final(self, events: list[Event], ask: Ask, answer: Answer, reply: Reply,
                      sse: bool) -> list[Event]:
        """All content of the stream but not its final event (default: no ``tail`` event)."""
        return [e for e in events if e.kind != "tail"]

    def tool_cut(self, events: list[Event], chars: int, ask: Ask, answer: Answer, reply: Reply,
                 sse: bool) -> list[Event]:
        """A tool-call stream whose arguments stop after ``chars`` characters (mid-JSON)."""
        return events_through(events, chars)

    @abstractmethod
    def error_body(self, status: int, model: str, reply: Reply, rate: RateDecision | None = None,
                   message: str | None = None) -> dict:
        """The provider's standard error body for ``status``."""

    @abstractmethod
    def headers(self, reply: Reply, rate: RateDecision, status: int) -> dict[str, str]:
        """Provider response headers (request id, rate limits, retry hints)."""

    @abstractmethod
    def has_credentials(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        """True if the request carries this provider's API key header (any value)."""

    @abstractmethod
    def missing_key_error(self, reply: Reply) -> tuple[int, dict]:
        """Status and body for a request without an API key."""

    def stream_media_type(self, sse: bool) -> str:
        """Content type of a streamed body."""
        return "text/event-stream; charset=utf-8"

    def wire_error(self, status: int, model: str, message: str) -> WireError:
        """A :class:`WireError` carrying this provider's error body."""
        reply = Reply.new(self.request_id_prefix, model)
        return WireError(status, self.error_body(status, model, reply, message=message))


def dumps(value: Any) -> str:
    """Compact JSON as providers send it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sse_data(value: Any, newline: str = "\n") -> bytes:
    """An SSE event with only a ``data:`` line."""
    return f"data: {dumps(value)}{newline}{newline}".encode()


def sse_named(event: str, value: Any) -> bytes:
    """An SSE event with an ``event:`` name and a ``data:`` line."""
    return f"event: {event}\ndata: {dumps(value)}\n\n".encode()


def split_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """``text`` in pieces of about ``size`` characters, split after spaces where possible."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + 1, end + 1)
            end = space + 1 if space > start else end
        pieces.append(text[start:end])
        start = end
    return pieces


def text_of(content: Any) -> str:
    """Plain text of a content value: a string, or a list of parts/blocks with ``text`` fields."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(text_of(part.get("text") or part.get("content") or "")
                        for part in content if isinstance(part, dict))
    return ""
