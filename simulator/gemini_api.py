"""Google Gemini (Developer API) on the wire (providers.md §1.3, §2.3, §3.1).

Request: ``POST /v1beta/models/{model}:generateContent`` or ``:streamGenerateContent`` (``?alt=sse``
for SSE; without it the stream is one JSON array written piece by piece). Body: ``contents[]`` of
``{role, parts[]}`` (``text``, ``functionCall``, ``functionResponse``), ``systemInstruction``,
``tools[].functionDeclarations[]`` (``parameters`` or ``parametersJsonSchema``),
``toolConfig.functionCallingConfig`` (``mode: ANY`` forces a call, ``allowedFunctionNames``), and
``generationConfig`` (``responseMimeType: application/json``, ``responseSchema`` /
``responseJsonSchema``, ``maxOutputTokens``). Auth ``x-goog-api-key`` or ``?key=``.

Response: ``GenerateContentResponse`` ``{candidates: [{content: {role: "model", parts}, finishReason,
index}], usageMetadata, modelVersion, responseId}``. ``finishReason`` is ``STOP`` even for function
calls, ``MAX_TOKENS`` when capped. Streams: every chunk a full response holding only the new text,
running ``usageMetadata`` on each, ``finishReason`` on the last, no ``[DONE]``. A mid-stream failure is
one ``{"error": {code, message, status}}`` element (503 ``UNAVAILABLE``), then the end of the body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from simulator.answer import ANY_TOOL, Answer, Ask, ToolSpec
from simulator.continuation import Continuation, gemini_partial
from simulator.errors import gemini_error, gemini_headers
from simulator.protocol import (
    DEFAULT_CHUNKING,
    Chunking,
    Event,
    FaultFrame,
    Protocol,
    Reply,
    WireError,
    dumps,
    events_through,
    sse_data,
)
from simulator.ratelimit import RateDecision
from simulator.text import count_tokens

FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool": "STOP"}
_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")
STREAM_ERROR = {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                          "status": "UNAVAILABLE"}}
MALFORMED = '{"candidates": [{"content": {"parts": [{"text": "and'


def _get(obj: Any, name: str) -> Any:
    """Field ``name`` (camelCase) of a JSON object, also under its snake_case name: Google's JSON
    parser accepts both spellings, and the SDK sends some fields (``parameters_json_schema``) snake."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(name)
    return value if value is not None else obj.get(_CAMEL_HUMP.sub("_", name).lower())


def _part_text(part: Any) -> str:
    if not isinstance(part, dict):
        return ""
    if call := _get(part, "functionCall"):
        return f"{call.get('name', '')} {dumps(call.get('args', {}))}"
    if resp := _get(part, "functionResponse"):
        return f"{resp.get('name', '')} {dumps(resp.get('response', {}))}"
    return part.get("text") or ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return " ".join(t for t in (_part_text(p) for p in content.get("parts") or []) if t)
    return ""


def _tools(body: dict) -> tuple[ToolSpec, ...]:
    specs = []
    for tool in body.get("tools") or []:
        for decl in _get(tool, "functionDeclarations") or []:
            if isinstance(decl, dict) and decl.get("name"):
                schema = _get(decl, "parametersJsonSchema") or decl.get("parameters") or {}
                specs.append(ToolSpec(decl["name"], schema))
    return tuple(specs)


def _forced(body: dict) -> str | None:
    config = _get(_get(body, "toolConfig"), "functionCallingConfig") or {}
    if str(config.get("mode", "")).upper() != "ANY":
        return None
    allowed = _get(config, "allowedFunctionNames") or []
    return allowed[0] if allowed else ANY_TOOL


class GeminiProtocol(Protocol):
    """Gemini ``generateContent`` / ``streamGenerateContent``."""

    name = "gemini"

    def _bad(self, model: str, message: str) -> WireError:
        return self.wire_error(400, model, message)

    def parse(self, body: Any, path_model: str | None, stream: bool) -> Ask:
        """Read a generateContent body (``stream`` comes from the path's method)."""
        model = path_model or ""
        if not isinstance(body, dict):
            raise self._bad(model, "Invalid JSON payload received. Expected an object.")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise self._bad(model, "* GenerateContentRequest.contents: contents is not specified\n")
        system = _content_text(_get(body, "systemInstruction") or "")
        texts = ([system] if system else []) + [_content_text(c) for c in contents]
        users = [c for c in contents if isinstance(c, dict) and c.get("role", "user") == "user"]
        config = _get(body, "generationConfig") or {}
        schema = _get(config, "responseJsonSchema") or _get(config, "responseSchema")
        tools = _tools(body)
        last_user = _content_text(users[-1]) if users else texts[-1]
        partial = gemini_partial(contents)
        turns = tuple(texts[1:] if system else texts)
        return Ask(
            model=model,
            texts=tuple(texts),
            last_user=last_user,
            stream=stream,
            json_asked=_get(config, "responseMimeType") == "application/json" or bool(schema),
            json_schema=schema if isinstance(schema, dict) else None,
            tools=tools,
            forced_tool=_forced(body) if tools else None,
            max_tokens=_get(config, "maxOutputTokens"),
            tools_text=dumps(body.get("tools")) if tools else "",
            continuation=None if partial is None else Continuation(partial, False, turns[:-1], last_user),
            turns=turns,
            system=system,
        )

    @staticmethod
    def _response(answer: Answer, reply: Reply, parts: list, finish: str | None, output: int) -> dict:
        candidate: dict = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        usage = {"promptTokenCount": answer.prompt_tokens, "candidatesTokenCount": output,
                 "totalTokenCount": answer.prompt_tokens + output,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": answer.prompt_tokens}]}
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": reply.model,
                "responseId": reply.uid}

    @staticmethod
    def _parts(answer: Answer) -> list[dict]:
        if answer.tool_call:
            return [{"functionCall": {"name": answer.tool_call.name, "args": answer.tool_call.args}}]
        return [{"text": answer.text}]

    def render(self, ask: Ask, answer: Answer, reply: Reply) -> dict:
        """A ``GenerateContentResponse``."""
        return self._response(answer, reply, self._parts(answer), FINISH[answer.finish], answer.completion_tokens)

    def stream(self, ask: Ask, answer: Answer, reply: Reply, sse: bool = True,
               chunking: Chunking = DEFAULT_CHUNKING) -> list[Event]:
        """One response per chunk; SSE ``data:`` lines, or pieces of one JSON array without ``alt=sse``."""
        pieces = [] if answer.tool_call else chunking.split(answer.text)
        bodies: list[dict] = []
        done = 0
        for piece in pieces[:-1]:
            done += count_tokens(piece)
            bodies.append(self._response(answer, reply, [{"text": piece}], None, done))
        last_parts = self._parts(answer) if answer.tool_call else [{"text": pieces[-1] if pieces else ""}]
        bodies.append(self._response(answer, reply, last_parts, FINISH[answer.finish], answer.completion_tokens))
        if sse:
            framed = [sse_data(b, "\r\n") for b in bodies]
        else:
            framed = [(("[" if i == 0 else ",\r\n") + dumps(b)).encode() for i, b in enumerate(bodies)]
            framed[-1] += b"]"
        chars = [len(p) for p in pieces] or [0]
        return [Event(data, "content", n) for data, n in zip(framed[:-1], chars, strict=False)] + [
            Event(framed[-1], "tail", chars[-1])]

    @staticmethod
    def _element(value: str, sse: bool, first: bool, close: bool) -> bytes:
        if sse:
            return f"data: {value}\r\n\r\n".encode()
        return (("[" if first else ",\r\n") + value + ("]" if close else "")).encode()

    def fault_frame(self, kind: FaultFrame, reply: Reply, sse: bool, first: bool) -> bytes:
        """An ``{"error": {...}}`` element (the array then closes), or a response broken off mid-JSON."""
        if kind == "error":
            return self._element(dumps(STREAM_ERROR), sse, first, close=True)
        return self._element(MALFORMED, sse, first, close=False)

    def prefix(self, events: list[Event], chars: int, ask: Ask, answer: Answer, reply: Reply,
               sse: bool) -> list[Event]:
        """Up to ``chars`` characters; all of them (the last piece without ``finishReason``) if that
        is the whole answer, since the final response also carries the last piece."""
        if chars >= sum(e.chars for e in events):
            return self.without_final(events, ask, answer, reply, sse)
        return events_through(events, chars)

    def without_final(self, events: list[Event], ask: Ask, answer: Answer, reply: Reply,
                      sse: bool) -> list[Event]:
        """Every piece, the last one in a response without ``finishReason`` (the array still closes)."""
        tail = events[-1]
        text = tail.data.decode()
        first = text.startswith("[")
        body = json.loads(text.removeprefix("data: ").strip().lstrip("[,").strip().removesuffix("]"))
        body["candidates"][0].pop("finishReason", None)
        return [*events[:-1], Event(self._element(dumps(body), sse, first, close=True), "content", tail.chars)]

    def tool_cut(self, events: list[Event], chars: int, ask: Ask, answer: Answer, reply: Reply,
                 sse: bool) -> list[Event]:
        """Gemini sends a call whole (``functionCall.args`` is an object): the response carrying it
        stops ``chars`` characters into ``args`` (always before its end), and the body ends."""
        assert answer.tool_call is not None
        data = events[-1].data
        start = data.index(b'"args":') + len(b'"args":')
        keep = min(chars, len(dumps(answer.tool_call.args).encode()) - 1)
        return [*events[:-1], Event(data[: start + keep], "content", keep)]

    def stream_media_type(self, sse: bool) -> str:
        """SSE with ``alt=sse``, else JSON."""
        return "text/event-stream" if sse else "application/json; charset=UTF-8"

    def error_body(self, status: int, model: str, reply: Reply, rate: RateDecision | None = None,
                   message: str | None = None) -> dict:
        """Gemini's ``{"error": {code, message, status, details?}}``."""
        return gemini_error(status, model, rate, message)

    def headers(self, reply: Reply, rate: RateDecision, status: int) -> dict[str, str]:
        """No rate-limit headers (Gemini has none)."""
        return gemini_headers(reply.request_id, rate, status)

    def has_credentials(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        """``x-goog-api-key`` header or ``?key=``."""
        return bool(headers.get("x-goog-api-key") or query.get("key"))

    def missing_key_error(self, reply: Reply) -> tuple[int, dict]:
        """403 ``PERMISSION_DENIED`` as Gemini sends it to unregistered callers."""
        return 403, gemini_error(403, "", message="Method doesn't allow unregistered callers (callers without "
                                                  "established identity). Please use API Key or other form "
                                                  "of API consumer identity to call this API.")
