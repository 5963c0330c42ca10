"""``/v1/messages`` streaming live on slow simulated streams (``tests/streaming`` fixtures): a
primary failing before its first token is invisible, and one cut mid-answer is rescued by another
target, so the Anthropic SDK reads one continuous text block equal to a healthy answer."""

from __future__ import annotations

from anthropic import AsyncAnthropic

from tests.messages.conftest import MESSAGES
from tests.streaming.conftest import PRIMARY, _database_first, fault, sgw, sgw_url, stream_sim

__all__ = ["_database_first", "sgw", "sgw_url", "stream_sim"]


async def stream_message(url: str) -> tuple[str, list[str], str]:
    """The streamed text, the event types, and the final message's stop reason."""
    async with AsyncAnthropic(base_url=url, api_key="unused", max_retries=0) as client:
        async with client.messages.stream(model="claude-3-5-sonnet", max_tokens=300, messages=MESSAGES) as stream:
            events = [e.type async for e in stream]
            final = await stream.get_final_message()
    assert len(final.content) == 1 and final.content[0].type == "text"
    return final.content[0].text, events, str(final.stop_reason)


async def test_failover_before_the_first_token_and_rescue_after_it(sgw, sgw_url) -> None:  # type: ignore[no-untyped-def]
    expected, events, stop = await stream_message(sgw_url)
    assert events[:2] == ["message_start", "content_block_start"] and "text" in events and stop == "end_turn"
    assert events.count("content_block_start") == 1 and events[-2:] == ["message_delta", "message_stop"]
    await fault(sgw.sim, PRIMARY, stream_fault="cut", stream_fault_after_tokens=0)
    before, _, _ = await stream_message(sgw_url)
    await fault(sgw.sim, PRIMARY, stream_fault="cut", stream_fault_after_tokens=12)
    rescued, events, stop = await stream_message(sgw_url)
    assert before == expected and rescued == expected and stop == "end_turn"
    assert events.count("content_block_start") == 1 and events.count("text") > 12
    assert sgw.sim_calls() - sgw.sim_calls(PRIMARY) >= 2  # both broken streams were finished by others
