"""The in-process hub's stream state: each char once by offset, tool calls in order, a slow reader
gets what is new coalesced (memory is the answer, never a queue of deltas)."""

from __future__ import annotations

import asyncio

from activities.streams.events import TextPiece, ToolCallPiece, decode, encode
from activities.streams.hub import StreamHub, StreamState


def piece(offset: int, text: str, seq: int = 1) -> TextPiece:
    return TextPiece(offset, text, seq, f"t{seq}", "m")


def test_overlapping_duplicate_and_gapped_pieces_keep_each_char_once() -> None:
    s = StreamState("k")
    s.publish([piece(0, "Hello "), piece(0, "Hello "), piece(3, "lo wor"), piece(20, "gap")])
    assert s.text() == "Hello wor" and s.length == 9
    s.publish([piece(9, "ld", seq=2)])
    assert s.text() == "Hello world"
    assert [(p.seq, p.start, p.end) for p in s.parts] == [(1, 0, 9), (2, 9, 11)]


async def test_slow_reader_gets_new_text_coalesced_and_ends_at_close() -> None:
    s = StreamState("k")
    got: list[str] = []

    async def read() -> None:
        async for upd in s.follow():
            got.append(upd.text)
            await asyncio.sleep(0.05)  # slow: several pieces arrive meanwhile

    reader = asyncio.create_task(read())
    await asyncio.sleep(0)
    for i in range(20):
        s.publish([piece(i, "x")])
        await asyncio.sleep(0.005)
    s.close()
    await asyncio.wait_for(reader, 5)
    assert "".join(got) == "x" * 20 and len(got) < 20


async def test_tool_calls_are_delivered_whole_and_in_order_from_an_offset() -> None:
    s = StreamState("k")
    s.publish([piece(0, "Let me check. "), ToolCallPiece(1, "c2", "b", "{}", 1, "t", "m"),
               ToolCallPiece(0, "c1", "a", '{"x": 1}', 1, "t", "m")])
    s.close()
    ups = [u async for u in s.follow(start=4)]
    assert "".join(u.text for u in ups) == "me check. "
    assert [c.id for u in ups for c in u.tool_calls] == ["c1", "c2"]


def test_hub_keeps_a_released_state_for_resume_then_forgets_it() -> None:
    now = [0.0]
    hub = StreamHub(clock=lambda: now[0])
    st = hub.open("a")
    hub.release(st, keep_s=10)
    assert hub.get("a") is st
    now[0] = 11
    hub.open("b")
    assert hub.get("a") is None


def test_events_round_trip_through_their_wire_form() -> None:
    for ev in (piece(5, "é\n\"q\""), ToolCallPiece(2, "id", "f", '{"a": [1]}', 3, "t", "m")):
        assert decode(encode(ev)) == ev
