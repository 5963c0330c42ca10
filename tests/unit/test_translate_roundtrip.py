"""Property tests: a random valid OpenAI conversation with tools, translated to Anthropic and Gemini,
keeps the role order, the tool-call/result pairing and every text; assistant turns survive a round
trip through a provider response (providers.md §4.1, §4.2)."""

from __future__ import annotations

import json
import string
from itertools import pairwise
from typing import Any

from anthropic.types import Message
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from google.genai import types as gtypes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.providers import anthropic, gemini
from activities.providers.anthropic_translate import anthropic_tool_id
from tests.unit.conftest import assert_fits, build_call

NAMES = ["get_weather", "lookup", "sum_numbers"]
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in NAMES]
SYSTEM_ROLES = ("system", "developer")
PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(lambda s: s.strip())
ids = st.text(string.ascii_letters + string.digits + "_-.:", min_size=1, max_size=16)
scalars = st.one_of(st.integers(-5, 5), st.text(string.ascii_letters, max_size=6), st.booleans(), st.none())
arguments = st.dictionaries(st.text(string.ascii_lowercase, min_size=1, max_size=6), scalars, max_size=3)
contents = st.one_of(texts, st.lists(texts.map(lambda t: {"type": "text", "text": t}), min_size=1, max_size=3))


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    """System messages anywhere, user/assistant turns in any order (assistant first allowed), and tool
    steps: an assistant message with 1-3 calls followed by one tool message per call."""
    msgs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for kind in draw(st.lists(st.sampled_from(["user", "assistant", "tools", "system"]), min_size=1, max_size=7)):
        if kind == "system":
            msgs.append({"role": draw(st.sampled_from(SYSTEM_ROLES)), "content": draw(texts)})
        elif kind in ("user", "assistant"):
            msgs.append({"role": kind, "content": draw(contents)})
        else:
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                cid = draw(ids.filter(lambda i: anthropic_tool_id(i) not in seen))
                seen.add(anthropic_tool_id(cid))
                calls.append({"id": cid, "type": "function", "function": {
                    "name": draw(st.sampled_from(NAMES)), "arguments": json.dumps(draw(arguments))}})
            msgs.append({"role": "assistant", "content": draw(st.one_of(st.none(), texts)), "tool_calls": calls})
            msgs += [{"role": "tool", "tool_call_id": c["id"], "content": draw(texts)} for c in calls]
    return msgs


def texts_of(content: Any) -> list[str]:
    if content is None:
        return []
    return [content] if isinstance(content, str) else [p["text"] for p in content]


def expected_roles(conv: list[dict[str, Any]]) -> list[str]:
    roles: list[str] = []
    for m in conv:
        if m["role"] in SYSTEM_ROLES:
            continue
        role = "assistant" if m["role"] == "assistant" else "user"
        if not roles or roles[-1] != role:
            roles.append(role)
    return roles if roles and roles[0] == "user" else ["user", *roles]


def openai_events(conv: list[dict[str, Any]], by_name: bool) -> list[tuple[Any, ...]]:
    """The conversation as a flat event list: texts, calls and results, in order."""
    names = {c["id"]: c["function"]["name"] for m in conv for c in m.get("tool_calls") or []}
    out: list[tuple[Any, ...]] = []
    for m in conv:
        if m["role"] in SYSTEM_ROLES:
            continue
        if m["role"] == "tool":
            key = names[m["tool_call_id"]] if by_name else anthropic_tool_id(m["tool_call_id"])
            out.append(("result", key, m["content"]))
            continue
        out += [("text", t) for t in texts_of(m["content"])]
        for c in m.get("tool_calls") or []:
            key = c["function"]["name"] if by_name else (anthropic_tool_id(c["id"]), c["function"]["name"])
            out.append(("call", key, json.loads(c["function"]["arguments"])))
    return out


# --- Anthropic ------------------------------------------------------------------------------------------

def anthropic_events(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for b in (b for m in messages for b in m["content"]):
        if b["type"] == "text":
            out.append(("text", b["text"]))
        elif b["type"] == "tool_use":
            out.append(("call", (b["id"], b["name"]), b["input"]))
        else:
            out.append(("result", b["tool_use_id"], b["content"]))
    return out


@PROPS
@given(conversations())
def test_anthropic_keeps_order_pairing_and_text(conv: list[dict[str, Any]]) -> None:
    call = build_call("anthropic", {"messages": conv, "tools": TOOLS})
    body = anthropic.build_request(call).body
    assert_fits(body, MessageCreateParamsNonStreaming)
    msgs = body["messages"]
    roles = [m["role"] for m in msgs]
    assert roles == expected_roles(conv) and all(a != b for a, b in pairwise(roles))
    assert [b["text"] for b in body.get("system", [])] == [m["content"] for m in conv if m["role"] in SYSTEM_ROLES]
    filler = 1 if conv_starts_without_user(conv) else 0
    expected = openai_events(conv, by_name=False)
    if msgs[-1]["role"] == "assistant" and expected and expected[-1][0] == "text":
        expected[-1] = ("text", expected[-1][1].rstrip())  # a final assistant prefill is trimmed (documented)
    assert anthropic_events(msgs)[filler:] == expected
    for turn, nxt in pairwise(msgs):
        used = [b["id"] for b in turn["content"] if b["type"] == "tool_use"]
        if used:
            assert [b.get("tool_use_id") for b in nxt["content"][: len(used)]] == used


@PROPS
@given(conversations())
def test_anthropic_assistant_turns_round_trip(conv: list[dict[str, Any]]) -> None:
    call = build_call("anthropic", {"messages": conv, "tools": TOOLS})
    for turn in (m for m in anthropic.build_request(call).body["messages"] if m["role"] == "assistant"):
        calls = [b for b in turn["content"] if b["type"] == "tool_use"]
        answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": turn["content"],
                  "stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None,
                  "usage": {"input_tokens": 1, "output_tokens": 1}}
        Message.model_validate(answer)
        msg = anthropic.parse_response(answer, call).choices[0].message
        assert (msg.content or "") == "".join(b["text"] for b in turn["content"] if b["type"] == "text")
        assert [(t.id, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []] == \
            [(b["id"], b["name"], b["input"]) for b in calls]


def conv_starts_without_user(conv: list[dict[str, Any]]) -> bool:
    first = next((m for m in conv if m["role"] not in SYSTEM_ROLES), None)
    return first is None or first["role"] == "assistant"


# --- Gemini ----------------------------------------------------------------------------------------------

def gemini_events(contents: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for p in (p for c in contents for p in c["parts"]):
        if "text" in p:
            out.append(("text", p["text"]))
        elif "functionCall" in p:
            out.append(("call", p["functionCall"]["name"], p["functionCall"]["args"]))
        else:
            out.append(("result", p["functionResponse"]["name"], p["functionResponse"]["response"]["result"]))
    return out


@PROPS
@given(conversations())
def test_gemini_keeps_order_pairing_and_text(conv: list[dict[str, Any]]) -> None:
    body = gemini.build_request(build_call("gemini", {"messages": conv, "tools": TOOLS})).body
    for content in body["contents"]:
        gtypes.Content.model_validate(content)
    roles = ["assistant" if c["role"] == "model" else "user" for c in body["contents"]]
    assert roles == expected_roles(conv) and all(a != b for a, b in pairwise(roles))
    system = [p["text"] for p in body.get("systemInstruction", {}).get("parts", [])]
    assert system == [m["content"] for m in conv if m["role"] in SYSTEM_ROLES]
    filler = 1 if conv_starts_without_user(conv) else 0
    assert gemini_events(body["contents"])[filler:] == openai_events(conv, by_name=True)
    for turn, nxt in pairwise(body["contents"]):
        names = [p["functionCall"]["name"] for p in turn["parts"] if "functionCall" in p]
        if names:
            assert [p.get("functionResponse", {}).get("name") for p in nxt["parts"][: len(names)]] == names


@PROPS
@given(conversations())
def test_gemini_round_trip_through_a_response(conv: list[dict[str, Any]]) -> None:
    """Each model turn, answered as a candidate and parsed back, gives the same text and calls; feeding
    the parsed calls (with synthesised ids) and their results back pairs them up by name again."""
    call = build_call("gemini", {"messages": conv, "tools": TOOLS})
    for turn in (c for c in gemini.build_request(call).body["contents"] if c["role"] == "model"):
        answer = {"candidates": [{"content": turn, "finishReason": "STOP", "index": 0}]}
        gtypes.GenerateContentResponse.model_validate(answer)
        choice = gemini.parse_response(answer, call).choices[0]
        calls = [p["functionCall"] for p in turn["parts"] if "functionCall" in p]
        assert (choice.message.content or "") == "".join(p["text"] for p in turn["parts"] if "text" in p)
        got = [(t.function.name, json.loads(t.function.arguments)) for t in choice.message.tool_calls or []]
        assert got == [(c["name"], c["args"]) for c in calls]
        assert choice.finish_reason == ("tool_calls" if calls else "stop")
        if not calls:
            continue
        replay = [{"role": "user", "content": "go"}, choice.message.model_dump(exclude_none=True),
                  *({"role": "tool", "tool_call_id": t.id, "content": f"r{i}"}
                    for i, t in enumerate(choice.message.tool_calls or []))]
        contents = gemini.build_request(build_call("gemini", {"messages": replay})).body["contents"]
        assert [p["functionResponse"]["name"] for p in contents[2]["parts"]] == [c["name"] for c in calls]
