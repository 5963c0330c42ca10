"""The glue between a rescue attempt's deltas and the client: repeated text trimmed, released as
soon as it can no longer be a repetition, prefill whitespace not doubled, tool calls held whole."""

from __future__ import annotations

from activities.providers.stream_base import StreamDelta, ToolCallDelta
from activities.stream_glue import Glue
from core.attempt import Partial
from core.rescue import trim_overlap


class Sink:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.calls: list[tuple[str, str, str]] = []

    def text(self, t: str) -> None:
        self.out.append(t)

    def tool_call(self, i: str, n: str, a: str) -> None:
        self.calls.append((i, n, a))


def test_openai_continuation_trims_the_repetition_and_releases_early() -> None:
    sink = Sink()
    g = Glue(Partial(text="The key point about refill is that"), "openai", sink)  # type: ignore[arg-type]
    for piece in ("ill is", " that", " it depends", " on order."):
        g.feed(StreamDelta(content=piece))
    assert "".join(sink.out) == " it depends on order."  # released before the stream ended
    g.finish()
    assert g.glued_text() == "The key point about refill is that it depends on order."


def test_prefill_whitespace_is_not_doubled() -> None:
    sink = Sink()
    g = Glue(Partial(text="Here is the answer. "), "anthropic", sink)  # type: ignore[arg-type]
    for piece in (" ", "Next", " sentence."):
        g.feed(StreamDelta(content=piece))
    g.finish()
    assert g.glued_text() == "Here is the answer. Next sentence."


def test_tool_calls_are_held_until_complete_and_skipped_when_already_sent() -> None:
    sink = Sink()
    g = Glue(None, "openai", sink)  # type: ignore[arg-type]
    g.feed(StreamDelta(tool_calls=(ToolCallDelta(0, "c1", "lookup", '{"id": '),)))
    assert sink.calls == [] and not g.committed
    g.feed(StreamDelta(tool_calls=(ToolCallDelta(0, arguments='"A1"}'),)))
    g.feed(StreamDelta(tool_calls=(ToolCallDelta(1, "c2", "other", "{}"),)))
    assert sink.calls == [("c1", "lookup", '{"id": "A1"}')]
    g.finish()
    assert [c[0] for c in sink.calls] == ["c1", "c2"]


def test_short_coincidences_are_not_trimmed() -> None:
    assert trim_overlap("ends with the", "the next") == "the next"  # 3 chars: a coincidence, kept
    assert trim_overlap("ends with these", "these next") == " next"  # 5 chars: a repetition, trimmed
