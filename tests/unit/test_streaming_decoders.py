"""activities/providers/sse.py: SSE and streamed-JSON-array decoding, whatever the chunk boundaries."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.providers.sse import JSONArrayDecoder, SSEDecoder, SSEEvent

ANTHROPIC_LIKE = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
                  b": keep-alive comment\n\n"
                  b"event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
                  b"data: line one\ndata:line two\n\n"
                  b"data: caf\xc3\xa9 \xe2\x9c\x93\r\r"
                  b"data: [DONE]\n\n")
EXPECTED = [SSEEvent("message_start", '{"type":"message_start"}'), SSEEvent("ping", '{"type": "ping"}'),
            SSEEvent(None, "line one\nline two"), SSEEvent(None, "café ✓"), SSEEvent(None, "[DONE]")]


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def decode_sse(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [e for c in chunks for e in decoder.feed(c)]
    return events + decoder.close()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 4096])
def test_sse_any_chunking_gives_the_same_events(size: int) -> None:
    """CRLF, LF and CR line ends, comments, multi-line data, UTF-8 split across chunks."""
    assert decode_sse(split_every(ANTHROPIC_LIKE, size)) == EXPECTED


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, len(ANTHROPIC_LIKE) - 1), unique=True, max_size=12))
def test_sse_random_cut_points(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(ANTHROPIC_LIKE)]
    assert decode_sse([ANTHROPIC_LIKE[a:b] for a, b in zip(points, points[1:], strict=False)]) == EXPECTED


def test_sse_unterminated_last_event_is_dispatched_at_close_only_with_data() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}') == []
    assert decoder.close() == [SSEEvent(None, '{"a": 1}')]
    decoder = SSEDecoder()
    assert decoder.feed(b"event: message_stop\n") == [] and decoder.close() == []


def test_sse_cr_at_chunk_end_waits_for_a_possible_lf() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n\r\n") == [SSEEvent(None, "x")]


ARRAY = (b'[{"candidates": [{"content": {"parts": [{"text": "a ] } \\" ["}]}}]}\r\n,'
         b'{"candidates": [], "n": [1, {"x": "}"}]}\r\n]')


@pytest.mark.parametrize("size", [1, 5, 4096])
def test_json_array_elements_come_out_as_they_close(size: int) -> None:
    decoder = JSONArrayDecoder()
    items = [i for c in split_every(ARRAY, size) for i in decoder.feed(c)] + decoder.close()
    assert items == json.loads(ARRAY) and decoder.finished


def test_json_array_first_element_before_the_array_ends() -> None:
    decoder = JSONArrayDecoder()
    first = decoder.feed(ARRAY[: ARRAY.index(b"\r\n")])
    assert len(first) == 1 and not decoder.finished


@pytest.mark.parametrize("body", [b'{"error": {}}', b"[1, 2]", b'[{"a": 1}] x'])
def test_json_array_rejects_what_is_not_an_array_of_objects(body: bytes) -> None:
    decoder = JSONArrayDecoder()
    with pytest.raises(ValueError):
        decoder.feed(body)
