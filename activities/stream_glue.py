"""One streamed attempt's deltas -> what the client sees: held tool calls, trimmed overlap, offsets.

:class:`Glue` sits between the protocol parser's deltas and the attempt's
:class:`activities.streams.publisher.AttemptSink`:

- **Tool calls** are held per call until complete (the next call starts, or the stream ends well),
  so no broken arguments ever reach a client (``shared/STREAMING.md``). A rescue attempt that
  continues an answer whose first ``k`` calls were already sent skips its own first ``k`` calls.
- **Continuation** of a partial answer (``rescue``): for an OpenAI-protocol target the first text is
  held only while it could still be a repetition of what was sent (it occurs in the last
  :data:`OVERLAP_WINDOW_CHARS` chars), then trimmed (``core.rescue.trim_overlap``), so the hold
  costs the length of the repetition, not the window; after an Anthropic/Gemini prefill, the whitespace the
  prefill lost is not doubled (``core.rescue.glue_after_prefill``).
- ``committed`` turns true with the first published content or tool call: from then on a failure
  is a rescue, before it an invisible failover.

Pure bookkeeping, no I/O (the sink does the publishing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.providers.stream_base import StreamDelta, ToolCallDelta
from activities.streams.publisher import AttemptSink
from core.attempt import Partial
from core.chat import FunctionCall, ToolCall
from core.rescue import glue_after_prefill, trim_overlap

#: Most chars of a continuation held back to find text the model repeated (OpenAI protocol).
OVERLAP_WINDOW_CHARS = 256


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class Glue:
    """See module docstring. ``rescue``: the partial answer this attempt continues (``None`` for a
    fresh attempt); ``protocol``: the target's wire protocol; ``sink``: where text goes (``None``:
    nobody reads the stream, only the bookkeeping runs)."""

    def __init__(self, rescue: Partial | None, protocol: str, sink: AttemptSink | None) -> None:
        self.rescue = rescue
        self.sink = sink
        self.text: list[str] = []            # this attempt's published text
        self.calls: list[ToolCall] = []      # this attempt's complete calls (after skipping)
        self._skip_calls = len(rescue.tool_calls) if rescue else 0
        self._open: dict[int, _Call] = {}
        self._calls_done = 0                 # wire calls completed (including skipped)
        self._hold: list[str] | None = None  # text held for the overlap/whitespace decision
        self._mode = "fresh"
        if rescue and rescue.text:
            self._mode = "prefill" if protocol in ("anthropic", "gemini") else "continue"
            self._hold = []
        self.committed = False

    def feed(self, delta: StreamDelta) -> None:
        """Take one parser delta (choice 0 only; streamed ``n > 1`` is answered whole)."""
        if delta.index != 0:
            return
        if delta.content:
            self._content(delta.content)
        for piece in delta.tool_calls:
            self._tool_piece(piece)

    def finish(self) -> None:
        """The stream ended well: release held text and the last tool calls."""
        self._release_hold(final=True)
        for index in sorted(self._open):
            self._complete(index)

    def partial(self, model: str) -> Partial:
        """Everything the client has received: the rescue's partial plus what this attempt sent."""
        base = self.rescue or Partial()
        return Partial(text=base.text + "".join(self.text), tool_calls=[*base.tool_calls, *self.calls],
                       model=model if self.committed else base.model, usage=base.usage, cost_usd=base.cost_usd)

    def glued_text(self) -> str:
        """The full answer text: the rescue's partial plus this attempt's text."""
        return (self.rescue.text if self.rescue else "") + "".join(self.text)

    # --- text -----------------------------------------------------------------------------------

    def _content(self, text: str) -> None:
        if self._hold is None:
            self._publish(text)
            return
        self._hold.append(text)
        self._release_hold(final=False)

    def _release_hold(self, *, final: bool) -> None:
        if self._hold is None:
            return
        held = "".join(self._hold)
        sent = self.rescue.text if self.rescue else ""
        if self._mode == "prefill":
            if not final and not held.strip():
                return  # only whitespace so far: wait to see whether the model re-emits the prefill's
            out = glue_after_prefill(sent, held)
        else:
            window = sent[-OVERLAP_WINDOW_CHARS:]
            if not final and len(held) < len(window) and held in window:
                return  # the held text may still be (the start of) a repetition of what was sent
            out = trim_overlap(window, held)
        self._hold = None
        self._publish(out)

    def _publish(self, text: str) -> None:
        if not text:
            return
        self.text.append(text)
        self.committed = True
        if self.sink is not None:
            self.sink.text(text)

    # --- tool calls -----------------------------------------------------------------------------

    def _tool_piece(self, piece: ToolCallDelta) -> None:
        for index in [i for i in self._open if i < piece.index]:
            self._complete(index)  # a later call started: earlier ones are whole
        call = self._open.setdefault(piece.index, _Call())
        call.id = piece.id or call.id
        call.name = piece.name or call.name
        if piece.arguments:
            call.arguments.append(piece.arguments)

    def _complete(self, index: int) -> None:
        call = self._open.pop(index)
        self._calls_done += 1
        if self._calls_done <= self._skip_calls:
            return
        self._release_hold(final=True)  # text before a tool call is final
        done = ToolCall(id=call.id, function=FunctionCall(name=call.name, arguments="".join(call.arguments)))
        self.calls.append(done)
        self.committed = True
        if self.sink is not None:
            self.sink.tool_call(done.id, done.function.name, done.function.arguments)
