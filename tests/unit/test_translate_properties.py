"""Property tests completing ``test_translate_roundtrip.py`` (issue 3, item 9): random valid OpenAI
conversations with tools through the OpenAI-compatible protocol (native and Mistral's dialect) keep
roles, order, tool-call/result pairing and text; and a random answer (text and parallel tool calls),
streamed in each protocol's own event format and cut at random byte boundaries, parses to exactly
what the same answer parses to unstreamed."""

from __future__ import annotations

import json
import re
import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

from activities.providers import anthropic, gemini, openai
from activities.providers.mistral_dialect import BRIDGE_TEXT
from activities.providers.stream_base import parse_chunks
from activities.providers.streaming import stream_parser
from core.chat import ChatResponse
from tests.unit.conftest import assert_fits, build_call
from tests.unit.test_translate_roundtrip import NAMES, PROPS, SYSTEM_ROLES, TOOLS, conversations, texts, texts_of

MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")


@PROPS
@given(conversations())
def test_openai_native_keeps_the_conversation_as_sent(conv: list[dict[str, Any]]) -> None:
    wire = openai.build_request(build_call("openai", {"messages": conv, "tools": TOOLS}))
    assert_fits(wire.body, CompletionCreateParamsNonStreaming)
    sent = [(m["role"], texts_of(m.get("content")), [c["id"] for c in m.get("tool_calls") or []],
             m.get("tool_call_id")) for m in wire.body["messages"]]
    assert sent == [(m["role"], texts_of(m.get("content")), [c["id"] for c in m.get("tool_calls") or []],
                     m.get("tool_call_id")) for m in conv]


@PROPS
@given(conversations())
def test_mistral_keeps_roles_order_pairing_and_text(conv: list[dict[str, Any]]) -> None:
    wire = openai.build_request(build_call("openai", {"messages": conv, "tools": TOOLS},
                                           base_url="https://api.mistral.ai/v1"))
    msgs = wire.body["messages"]
    bridges, j = [], 0  # aligned with conv: a caller's own "." assistant turn after a tool is not a bridge
    for i, m in enumerate(msgs):
        if (m["role"] == "assistant" and m.get("content") == BRIDGE_TEXT and i > 0 and msgs[i - 1]["role"] == "tool"
                and j < len(conv) and conv[j]["role"] == "user"):
            bridges.append(i)
        else:
            j += 1
    assert all(msgs[i + 1]["role"] == "user" for i in bridges)          # a bridge only between tool and user
    kept = [m for i, m in enumerate(msgs) if i not in bridges]
    roles = ["system" if m["role"] in SYSTEM_ROLES else m["role"] for m in conv]
    assert [m["role"] for m in kept] == roles
    assert [texts_of(m.get("content")) for m in kept] == [texts_of(m.get("content")) for m in conv]
    mapping: dict[str, str] = {}
    for orig, sent in zip(conv, kept, strict=True):
        for a, b in zip(orig.get("tool_calls") or [], sent.get("tool_calls") or [], strict=True):
            assert MISTRAL_ID.match(b["id"]) and b["function"] == a["function"]
            assert mapping.setdefault(a["id"], b["id"]) == b["id"]
        if orig["role"] == "tool":
            assert sent["tool_call_id"] == mapping[orig["tool_call_id"]]
    assert len(set(mapping.values())) == len(mapping)                   # distinct ids stay distinct
    last = msgs[-1]
    assert last["role"] != "assistant" or last.get("tool_calls") or last.get("prefix") is True


# --- a random answer, streamed and not ----------------------------------------------------------------

args = st.dictionaries(st.text(string.ascii_lowercase, min_size=1, max_size=5),
                       st.one_of(st.integers(-9, 9), st.text(max_size=6), st.booleans()), max_size=3)
answers = st.tuples(st.lists(texts, max_size=4), st.lists(st.tuples(st.sampled_from(NAMES), args), max_size=3))
cuts = st.lists(st.integers(1, 10_000), max_size=8)
USAGE = (31, 17)


def pieces(text: str, at: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in at)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)] or [""]


def chunked(body: bytes, at: list[int]) -> list[bytes]:
    points = sorted({0, len(body), *(c % (len(body) + 1) for c in at)})
    return [body[a:b] for a, b in zip(points, points[1:], strict=False)]


def sse(items: list[Any], named: bool = False) -> bytes:
    if named:
        return "".join(f"event: {i['type']}\ndata: {json.dumps(i)}\n\n" for i in items).encode()
    return "".join(f"data: {i if isinstance(i, str) else json.dumps(i)}\n\n" for i in items).encode()


def openai_bodies(text: list[str], calls: list[tuple[str, dict]], at: list[int]) -> tuple[dict, bytes]:
    tool_calls = [{"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                  for i, (n, a) in enumerate(calls)]
    finish = "tool_calls" if calls else "stop"
    usage = {"prompt_tokens": USAGE[0], "completion_tokens": USAGE[1], "total_tokens": sum(USAGE)}
    whole = {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "usage": usage, "choices": [
        {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": "".join(text) or
                                                          (None if calls else ""), "tool_calls": tool_calls or None}}]}
    head = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def chunk(delta: dict, finish_reason: str | None = None) -> dict:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    events = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": t}) for t in text]
    for i, tc in enumerate(tool_calls):
        events.append(chunk({"tool_calls": [{"index": i, "id": tc["id"], "type": "function",
                                             "function": {"name": tc["function"]["name"], "arguments": ""}}]}))
        events += [chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
                   for p in pieces(tc["function"]["arguments"], at)]
    events += [chunk({}, finish), {**head, "choices": [], "usage": usage}, "[DONE]"]
    return whole, sse(events)


def anthropic_bodies(text: list[str], calls: list[tuple[str, dict]], at: list[int]) -> tuple[dict, bytes]:
    blocks: list[dict] = ([{"type": "text", "text": "".join(text)}] if "".join(text) else []) + [
        {"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a} for i, (n, a) in enumerate(calls)]
    stop = "tool_use" if calls else "end_turn"
    message = {"id": "msg", "type": "message", "role": "assistant", "model": "m", "stop_sequence": None,
               "usage": {"input_tokens": USAGE[0], "output_tokens": 1}}
    whole = {**message, "content": blocks, "stop_reason": stop, "usage": {"input_tokens": USAGE[0],
                                                                          "output_tokens": USAGE[1]}}
    events: list[dict] = [{"type": "message_start", "message": {**message, "content": [], "stop_reason": None}}]
    for i, b in enumerate(blocks):
        start = {**b, "text": ""} if b["type"] == "text" else {**b, "input": {}}
        events.append({"type": "content_block_start", "index": i, "content_block": start})
        if b["type"] == "text":
            events += [{"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": t}}
                       for t in text if t]
        else:
            events += [{"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta",
                                                                             "partial_json": p}}
                       for p in pieces(json.dumps(b["input"]), at)]
        events += [{"type": "content_block_stop", "index": i}, {"type": "ping"}]
    events += [{"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": USAGE[1]}},
               {"type": "message_stop"}]
    return whole, sse(events, named=True)


def gemini_bodies(text: list[str], calls: list[tuple[str, dict]], at: list[int]) -> tuple[dict, bytes]:
    usage = {"promptTokenCount": USAGE[0], "candidatesTokenCount": USAGE[1], "totalTokenCount": sum(USAGE)}
    fcs = [{"functionCall": {"name": n, "args": a}} for n, a in calls]
    joined = "".join(text)
    whole = {"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": (
        [{"text": joined}] if joined else []) + fcs}}], "usageMetadata": usage}
    chunks = [{"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": t}]}}]} for t in text if t]
    chunks.append({"candidates": [{"index": 0, "content": {"role": "model", "parts": fcs}, "finishReason": "STOP"}],
                   "usageMetadata": usage})
    return whole, sse(chunks)


def essence(r: ChatResponse) -> tuple[Any, ...]:
    c = r.choices[0]
    return (c.message.content or "", [(t.id, t.function.name, json.loads(t.function.arguments))
                                      for t in c.message.tool_calls or []], c.finish_reason,
            r.usage.prompt_tokens, r.usage.completion_tokens)


@PROPS
@given(answers, cuts)
def test_a_streamed_answer_parses_like_the_same_answer_unstreamed(answer: tuple[list[str], list],
                                                                  at: list[int]) -> None:
    text, calls = answer
    for protocol, bodies, parse in (("openai", openai_bodies, openai.parse_response),
                                    ("anthropic", anthropic_bodies, anthropic.parse_response),
                                    ("gemini", gemini_bodies, gemini.parse_response)):
        call = build_call(protocol, {"messages": [{"role": "user", "content": "hi"}], "tools": TOOLS})
        whole, stream = bodies(text, calls, at)
        deltas, streamed = parse_chunks(stream_parser(protocol, call), chunked(stream, at))
        assert essence(streamed) == essence(parse(whole, call)), protocol
        assert "".join(d.content or "" for d in deltas) == "".join(text)
