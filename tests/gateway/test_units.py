"""Pure parts of the gateway: the model -> route rule, the response/SSE shapes, body parsing."""

from __future__ import annotations

import json

import pytest

from core.chat import ChatResponse
from tests.configs import sim_config
from worker.gateway.body import parse_chat
from worker.gateway.errors import GatewayError
from worker.gateway.model_map import build_model_map
from worker.gateway.sse import completion_body, sse_body

CFG = sim_config("http://127.0.0.1:9")


def test_model_map_prefers_the_route_trying_the_model_earliest_then_the_default_then_file_order() -> None:
    routes = {"a": {"chain": ["openai/gpt-4o", "gemini/gemini-2.0-flash"]},
              "b": {"chain": ["gemini/gemini-2.0-flash", "openai/gpt-4o"]},
              "c": {"chain": ["anthropic/claude-3-5-sonnet", "gemini/gemini-2.0-flash"]},
              "d": {"chain": ["anthropic/claude-3-5-sonnet"]}}
    mm = build_model_map(sim_config("http://127.0.0.1:9", routes=routes, default_route="d"))
    assert mm.route_for("gpt-4o") == "a" and mm.route_for("gemini-2.0-flash") == "b"
    assert mm.route_for("claude-3-5-sonnet") == "d"  # first in c and d: the default wins the tie
    assert mm.route_for(None) == mm.route_for("") == mm.route_for("switchyard/auto") == "d"
    assert mm.route_for("switchyard/c") == "c" and mm.route_for("openai/gpt-4o@eu-west") == "a"
    assert mm.route_for("local-llama-3.1-8b") is None and mm.route_for("gpt-4o-mini") is None
    mm2 = build_model_map(sim_config("http://127.0.0.1:9", routes={k: routes[k] for k in "cab"}, default_route="a"))
    assert mm2.route_for("gemini-2.0-flash") == "b"
    assert mm2.route_for("claude-3-5-sonnet") == "c"


def test_a_route_name_shadows_a_model_of_the_same_name() -> None:
    routes = {"gpt-4o": {"chain": ["anthropic/claude-3-5-sonnet"]}, "main": {"chain": ["openai/gpt-4o"]}}
    mm = build_model_map(sim_config("http://127.0.0.1:9", routes=routes, default_route="main"))
    assert mm.route_for("gpt-4o") == "gpt-4o" and mm.route_for("openai/gpt-4o") == "main"
    assert [e.id for e in mm.entries].count("gpt-4o") == 1


RESPONSE = ChatResponse.model_validate({
    "id": "chatcmpl-1", "created": 1_800_000_000, "model": "gpt-4o", "system_fingerprint": "fp_1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Shipped.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "track", "arguments": "{\"id\": 7}"}}]},
        "finish_reason": "tool_calls"},
        {"index": 1, "message": {"role": "assistant", "content": "Yes."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13, "estimated": True}})


def test_completion_body_is_openai_shape_without_our_fields() -> None:
    body = completion_body(RESPONSE)
    assert body["object"] == "chat.completion" and "estimated" not in body["usage"]
    assert "tool_calls" not in body["choices"][1]["message"] and body["choices"][0]["message"]["tool_calls"]


def test_sse_body_replays_each_choice_then_usage_then_done() -> None:
    raw = sse_body(RESPONSE, include_usage=True).decode()
    assert raw.endswith("data: [DONE]\n\n")
    events = [json.loads(e[6:]) for e in raw.split("\n\n") if e and e != "data: [DONE]"]
    deltas = [(c["choices"][0]["index"], c["choices"][0]["delta"], c["choices"][0]["finish_reason"])
              for c in events if c["choices"]]
    assert deltas == [
        (0, {"role": "assistant", "content": ""}, None), (0, {"content": "Shipped."}, None),
        (0, {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                             "function": {"name": "track", "arguments": "{\"id\": 7}"}}]}, None),
        (0, {}, "tool_calls"),
        (1, {"role": "assistant", "content": ""}, None), (1, {"content": "Yes."}, None), (1, {}, "stop")]
    assert events[-1]["choices"] == [] and events[-1]["usage"] == {"prompt_tokens": 10, "completion_tokens": 3,
                                                                    "total_tokens": 13}
    assert {e["id"] for e in events} == {"chatcmpl-1"} and all(e["object"] == "chat.completion.chunk" for e in events)
    no_usage = sse_body(RESPONSE, include_usage=False).decode()
    assert '"usage"' not in no_usage


@pytest.mark.parametrize("body", [b"{", b"null", b"{\"messages\": [{\"role\": \"user\", \"content\": 5}]}",
                                  b"{\"messages\": [{\"role\": \"user\"}], \"n\": true}",
                                  b"{\"messages\": [{\"role\": \"user\"}], \"temperature\": NaN}",
                                  b"{\"messages\": [{\"role\": \"user\"}], \"logit_bias\": {\"1\": Infinity}}"])
def test_parse_chat_rejects_with_400(body: bytes) -> None:
    with pytest.raises(GatewayError) as e:
        parse_chat(body)
    assert e.value.status == 400


def test_parse_chat_keeps_unknown_openai_fields() -> None:
    req = parse_chat(b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "logprobs": true, '
                     b'"parallel_tool_calls": false}')
    assert req.model_extra == {"logprobs": True, "parallel_tool_calls": False}
