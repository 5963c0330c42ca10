"""OpenAI Chat Completions on the wire (providers.md §1.1, §2.1, §3.1, §3.5).

Request: ``POST /v1/chat/completions`` with ``model``, ``messages`` (content strings or text parts,
assistant ``tool_calls``), optional ``response_format`` (``json_object`` or ``json_schema``),
``tools`` + ``tool_choice`` (``required`` or ``{type: function, function: {name}}`` force a call),
``max_completion_tokens`` / ``max_tokens``, ``stream`` and ``stream_options.include_usage``.

Response: ``chat.completion`` with one choice and ``usage``; streams are ``chat.completion.chunk``
``data:`` lines: role chunk, content (or tool-call) deltas, a finish chunk with an empty delta, the
usage-only chunk (``choices: []``) when ``include_usage`` is set, then ``data: [DONE]``. A mid-stream
error is ``data: {"error": {message, type, param, code}}`` and the end of the body (no ``[DONE]``).
"""

from __future__ import annotations

from typing import Any

from simulator.answer import ANY_TOOL, Answer, Ask, ToolSpec
from simulator.continuation import Continuation, openai_partial
from simulator.errors import openai_error, openai_headers
from simulator.protocol import (
    DEFAULT_CHUNKING,
    Chunking,
    Event,
    FaultFrame,
    Protocol,
    Reply,
    WireError,
    dumps,
    sse_data,
    text_of,
)
from simulator.ratelimit import RateDecision

FINISH = {"stop": "stop", "length": "length", "tool": "tool_calls"}
FINGERPRINT = "fp_simulator"
STREAM_ERROR = {"message": "The server had an error while processing your request. Sorry about that!",
                "type": "server_error", "param": None, "code": None}
UNPARSEABLE = ("We could not parse the JSON body of your request. (HINT: This likely means you aren't "
               "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
               "sent was not valid JSON.)")


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    parts = [text_of(message.get("content"))]
    for call in message.get("tool_calls") or []:
        fn = call.get("function", {}) if isinstance(call, dict) else {}
        parts.append(f"{fn.get('name', '')} {fn.get('arguments', '')}")
    return " ".join(p for p in parts if p)


def _last_user(messages: list) -> str:
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return _message_text(users[-1]) if users else _message_text(messages[-1])


def _turns(messages: list) -> tuple[str, ...]:
    """Texts of the messages that are not system (or developer) prompts."""
    return tuple(_message_text(m) for m in messages
                 if not (isinstance(m, dict) and m.get("role") in ("system", "developer")))


def _continuation(messages: list, turns: tuple[str, ...]) -> Continuation | None:
    """A rescue: assistant partial, then the continue instruction (``simulator.continuation``)."""
    partial = openai_partial(messages)
    if partial is None or len(messages) < 3:
        return None
    return Continuation(partial, restates=True, turns=turns[:-2], last_user=_last_user(messages[:-2]))


def _tools(body: dict) -> tuple[ToolSpec, ...]:
    specs = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and fn.get("name"):
            specs.append(ToolSpec(fn["name"], fn.get("parameters") or {}))
    return tuple(specs)


def _forced(choice: Any) -> str | None:
    if choice == "required":
        return ANY_TOOL
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name") or ANY_TOOL
    return None


class OpenAIProtocol(Protocol):
    """OpenAI Chat Completions."""

    name = "openai"

    def _bad(self, message: str, param: str | None = None, code: str | None = None) -> WireError:
        return WireError(400, {"error": {"message": message, "type": "invalid_request_error",
                                         "param": param, "code": code}})

    def parse(self, body: Any, path_model: str | None, stream: bool) -> Ask:
        """Read a chat-completions body (``stream`` comes from the body, not the path)."""
        if not isinstance(body, dict):
            raise self._bad(UNPARSEABLE)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise self._bad("you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise self._bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
        if not messages:
            raise self._bad("Invalid 'messages': empty array. Expected an array with minimum length 1, "
                            "but got an empty array instead.", "messages", "empty_array")
        fmt = body.get("response_format") if isinstance(body.get("response_format"), dict) else {}
        texts = tuple(_message_text(m) for m in messages)
        self._check_rules(body, fmt, texts)
        tools = _tools(body)
        return Ask(
            model=model,
            texts=texts,
            last_user=_last_user(messages),
            stream=bool(body.get("stream")),
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
            json_asked=fmt.get("type") in ("json_object", "json_schema"),
            json_schema=(fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None,
            tools=tools,
            forced_tool=_forced(body.get("tool_choice")) if tools else None,
            max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
            tools_text=dumps(body.get("tools")) if tools else "",
            n=self._n(body.get("n")),
            continuation=_continuation(messages, _turns(messages)),
            turns=_turns(messages),
            system="\n\n".join(_message_text(m) for m in messages
                                 if isinstance(m, dict) and m.get("role") in ("system", "developer")),
        )

    def _n(self, value: Any) -> int:
        """OpenAI's ``n``: 1 to 128 choices (its API rejects more with this message)."""
        if value is None:
            return 1
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 128:
            above = isinstance(value, int) and value > 128
            raise self._bad(f"Invalid 'n': integer {'above maximum' if above else 'below minimum'} value. Expected "
                            f"a value between 1 and 128, but got {value} instead.", "n",
                            "integer_above_max_value" if above else "integer_below_min_value")
        return value

    def _check_rules(self, body: dict, fmt: dict, texts: tuple[str, ...]) -> None:
        """Two rules OpenAI enforces that translations break (providers.md §0, gotchas 2 and 18)."""
        temperature = body.get("temperature")
        if isinstance(temperature, int | float) and not 0 <= temperature <= 2:
            raise self._bad(f"Invalid 'temperature': decimal {'above maximum' if temperature > 2 else 'below minimum'}"
                            f" value. Expected a value {'<= 2' if temperature > 2 else '>= 0'}, but got "
                            f"{temperature} instead.", "temperature", "decimal_above_max_value"
                            if temperature > 2 else "decimal_below_min_value")
        if fmt.get("type") == "json_object" and not any("json" in t.lower() for t in texts):
            raise self._bad("'messages' must contain the word 'json' in some form, to use 'response_format' of "
                            "type 'json_object'.", "messages")

    @staticmethod
    def _usage(answer: Answer, n: int = 1) -> dict:
        """Usage of the whole response: every choice's completion tokens count (as at OpenAI)."""
        return {
            "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens * n,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens * n,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }

    def render(self, ask: Ask, answer: Answer, reply: Reply) -> dict:
        """A ``chat.completion`` object."""
        message: dict = {"role": "assistant", "content": answer.text, "refusal": None, "annotations": []}
        if answer.tool_call:
            call = answer.tool_call
            message["content"] = None
            message["tool_calls"] = [{"id": f"call_{call.id_suffix}", "type": "function",
                                      "function": {"name": call.name, "arguments": call.arguments}}]
        return {
            "id": f"chatcmpl-{reply.uid}", "object": "chat.completion", "created": reply.created,
            "model": reply.model,
            "choices": [{"index": i, "message": message, "logprobs": None,
                         "finish_reason": FINISH[answer.finish]} for i in range(ask.n)],
            "usage": self._usage(answer, ask.n), "service_tier": "default", "system_fingerprint": FINGERPRINT,
        }

    @staticmethod
    def _chunk_base(reply: Reply) -> dict:
        return {"id": f"chatcmpl-{reply.uid}", "object": "chat.completion.chunk",
                "created": reply.created, "model": reply.model, "service_tier": "default",
                "system_fingerprint": FINGERPRINT}

    def stream(self, ask: Ask, answer: Answer, reply: Reply, sse: bool = True,
               chunking: Chunking = DEFAULT_CHUNKING) -> list[Event]:
        """``chat.completion.chunk`` events ending with the usage chunk (if asked) and ``[DONE]``."""
        base = self._chunk_base(reply)

        def chunk(delta: dict, finish: str | None = None, index: int = 0) -> bytes:
            body = {**base, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            return sse_data({**body, "usage": None} if ask.include_usage else body)

        events: list[Event] = []
        for i in range(ask.n):  # choice after choice (OpenAI interleaves them; clients merge by index)
            events.append(Event(chunk({"role": "assistant", "content": "", "refusal": None}, index=i),
                                "head" if i == 0 else "content"))
            if answer.tool_call:
                call = answer.tool_call
                first = {"index": 0, "id": f"call_{call.id_suffix}", "type": "function",
                         "function": {"name": call.name, "arguments": ""}}
                events.append(Event(chunk({"tool_calls": [first]}, index=i), "content"))
                events += [Event(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, index=i),
                                 "content", len(piece)) for piece in chunking.split(call.arguments, 24)]
            else:
                events += [Event(chunk({"content": piece}, index=i), "content", len(piece))
                           for piece in chunking.split(answer.text)]
            events.append(Event(chunk({}, FINISH[answer.finish], index=i), "tail" if i == ask.n - 1 else "content"))
        if ask.include_usage:
            events.append(Event(sse_data({**base, "choices": [], "usage": self._usage(answer, ask.n)}), "tail"))
        events.append(Event(b"data: [DONE]\n\n", "tail"))
        return events

    def fault_frame(self, kind: FaultFrame, reply: Reply, sse: bool, first: bool) -> bytes:
        """``data: {"error": {...}}`` (what OpenAI sends when a stream fails after it started), or a
        content chunk broken off mid-JSON."""
        if kind == "error":
            return sse_data({"error": STREAM_ERROR})
        whole = dumps({**self._chunk_base(reply), "choices": [{"index": 0, "delta": {"content": "and"}}]})
        return f"data: {whole[: len(whole) // 2]}\n\n".encode()

    def error_body(self, status: int, model: str, reply: Reply, rate: RateDecision | None = None,
                   message: str | None = None) -> dict:
        """OpenAI's ``{"error": {message, type, param, code}}``."""
        return openai_error(status, model, rate, message)

    def headers(self, reply: Reply, rate: RateDecision, status: int) -> dict[str, str]:
        """``x-request-id``, ``x-ratelimit-*``, ``retry-after`` on 429/503."""
        return openai_headers(reply.request_id, rate, status)

    def has_credentials(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        """``Authorization: Bearer <key>``."""
        return headers.get("authorization", "").lower().startswith("bearer ")

    def missing_key_error(self, reply: Reply) -> tuple[int, dict]:
        """401 as OpenAI sends it without a key."""
        return 401, {"error": {"message": "You didn't provide an API key. You need to provide your API key "
                                          "in an Authorization header using Bearer auth (i.e. Authorization: "
                                          "Bearer YOUR_KEY).", "type": "invalid_request_error",
                               "param": None, "code": None}}
