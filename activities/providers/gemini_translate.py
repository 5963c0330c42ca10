"""OpenAI Chat Completions request -> Gemini ``generateContent`` body (providers.md §1.3, §4.1).

Messages: system/developer messages are hoisted, in order, into ``systemInstruction.parts``
(rules in ``activities/providers/turns.py``; a mid-conversation hoist adds a trace note). Roles
become ``user`` / ``model``; text parts -> ``text``; images: data URL -> ``inlineData`` with the
media type read from the bytes (``images.py``); remote URLs are downloaded and inlined by the
adapter before translation (``image_fetch.py``; §1.3 "Media limits"); ``input_audio`` and
PDF ``file`` data -> ``inlineData``. Assistant ``tool_calls`` -> ``functionCall{name, args}`` parts;
``tool`` messages -> ``functionResponse{name, response: {"result": text}}`` parts in a user turn,
the name looked up from the assistant call with the same ``tool_call_id``. Same-role turns are
merged (Gemini requires alternation); a conversation starting with the model gets a minimal user
turn. Thought signatures: a tool call that came from Gemini carries its ``thoughtSignature`` in
``extra_content.google.thought_signature`` (the convention of Google's OpenAI-compatible endpoint)
and it is replayed; for Gemini 3 models a call without one gets the documented dummy signature on
the first ``functionCall`` of each model turn (§0 #13); Gemini 3 calls and results also carry the
call's ``id`` (§4.1 "Assistant tool calls"), so the ids the client sees stay the ones it sent.

Parameters -> ``generationConfig``: temperature, ``topP``, ``topK`` (only for targets with the
``sampling`` capability), ``candidateCount`` (n),
``maxOutputTokens`` (clamped to the target's maximum), ``stopSequences`` (at most 5), ``seed``,
``presencePenalty`` / ``frequencyPenalty`` (noted: model-dependent), ``responseMimeType`` plus
``responseSchema`` or ``responseJsonSchema`` for JSON. ``tools`` -> ``functionDeclarations`` with
``parameters`` or ``parametersJsonSchema`` (which one, and the subset translation: ``gemini_schema.py``);
``tool_choice`` -> ``functionCallingConfig`` (§4.1 table). Dropped with a note: ``logprobs``,
``top_logprobs``, ``logit_bias``, ``user``, ``parallel_tool_calls`` and other OpenAI-only fields.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.common import (
    content_parts,
    dropped,
    parse_data_url,
    sampling_allowed,
    text_of,
    tool_arguments,
)
from activities.providers.gemini_schema import schema_field
from activities.providers.images import checked_image
from activities.providers.turns import FILLER_TEXT, Block, Turn, hoist_system, shape_turns
from core.chat import ChatMessage, ChatRequest, ToolCall
from core.errors import ErrorClass

P = "gemini"
MAX_STOP_SEQUENCES = 5
#: Google's documented placeholder for replayed calls whose real signature is unknown (§0 #13).
DUMMY_THOUGHT_SIGNATURE = "skip_thought_signature_validator"

_HANDLED = {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
            "stop", "tools", "tool_choice", "response_format", "n", "seed", "presence_penalty",
            "frequency_penalty", "metadata", "stream", "stream_options"}
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def build_body(call: ProviderCall) -> tuple[dict[str, Any], list[str]]:
    """The ``generateContent`` body for ``call`` and the trace notes of what was mapped or dropped."""
    req, notes = call.request, []
    system, rest = hoist_system(req.messages, notes, P)
    body: dict[str, Any] = {"contents": [{"role": "model" if t.role == "assistant" else "user", "parts": t.blocks}
                                         for t in _turns(rest, call.target.model, notes)]}
    if system:
        body["systemInstruction"] = {"parts": [{"text": s} for s in system]}
    body.update(_tools(req, call.target.model, notes))
    config = _generation_config(call, notes)
    if config:
        body["generationConfig"] = config
    if req.stream:
        notes.append(f"{P}: stream=true served without streaming by this adapter")
    fields = set(req.model_dump(exclude_none=True))
    dropped(notes, P, [k for k in fields - _HANDLED])
    return body, notes


def thought_signature(tc: ToolCall) -> str | None:
    """The Gemini thought signature a tool call carries (``extra_content.google.thought_signature``)."""
    extra = (tc.model_extra or {}).get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    sig = google.get("thought_signature") if isinstance(google, dict) else None
    return sig if isinstance(sig, str) and sig else None


def _generation_config(call: ProviderCall, notes: list[str]) -> dict[str, Any]:
    req = call.request
    extra = req.model_extra or {}
    sampling = (("temperature", req.temperature), ("topP", req.top_p), ("topK", extra.get("top_k"))) \
        if sampling_allowed(call, notes, P) else ()
    cfg: dict[str, Any] = {k: v for k, v in (*sampling, ("seed", req.seed)) if v is not None}
    if req.n and req.n > 1:
        cfg["candidateCount"] = req.n
    cap, limit = req.output_cap(), call.target.max_output_tokens
    if cap is not None:
        cfg["maxOutputTokens"] = min(cap, limit)
        if cap > limit:
            notes.append(f"{P}: max_tokens {cap} clamped to the target's maximum {limit}")
    stops = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if stops:
        cfg["stopSequences"] = stops[:MAX_STOP_SEQUENCES]
        if len(stops) > MAX_STOP_SEQUENCES:
            notes.append(f"{P}: only the first {MAX_STOP_SEQUENCES} stop sequences sent")
    for src, dst in (("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
        if extra.get(src) is not None:
            cfg[dst] = extra[src]
            notes.append(f"{P}: {src} mapped to {dst} (model-dependent)")
    cfg.update(_json_config(req, call.target.model, notes))
    return cfg


def _json_config(req: ChatRequest, model: str, notes: list[str]) -> dict[str, Any]:
    fmt = req.response_format or {}
    if fmt.get("type") == "json_object":
        return {"responseMimeType": "application/json"}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        fields = schema_field("responseSchema", schema, model, notes, "response_format") if schema else {}
        return {"responseMimeType": "application/json", **fields}
    return {}


def _tools(req: ChatRequest, model: str, notes: list[str]) -> dict[str, Any]:
    decls = []
    for tool in req.tools or []:
        fn = tool.get("function") if tool.get("type", "function") == "function" else None
        if not isinstance(fn, dict) or not fn.get("name"):
            notes.append(f"{P}: dropped a tool of type {tool.get('type')!r} (only function tools translate)")
            continue
        decl = {"name": fn["name"], **({"description": fn["description"]} if fn.get("description") else {})}
        if fn.get("parameters"):
            decl.update(schema_field("parameters", fn["parameters"], model, notes, f"tool {fn['name']}"))
        decls.append(decl)
    if not decls:
        return {}
    out: dict[str, Any] = {"tools": [{"functionDeclarations": decls}]}
    choice = req.tool_choice
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name", "")
        out["toolConfig"] = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    elif choice in _MODES:
        out["toolConfig"] = {"functionCallingConfig": {"mode": _MODES[choice]}}
    return out


def _turns(messages: list[ChatMessage], model: str, notes: list[str]) -> list[Turn]:
    names = {tc.id: tc.function.name for m in messages for tc in m.tool_calls or []}
    gemini_3 = "gemini-3" in model
    turns = [_turn(m, names, notes, gemini_3) for m in messages]
    shaped = shape_turns(turns, is_result=lambda b: "functionResponse" in b, filler={"text": FILLER_TEXT},
                         notes=notes, protocol=P)
    if gemini_3:
        _sign_first_calls(shaped, notes)
    return shaped


def _turn(msg: ChatMessage, names: dict[str, str], notes: list[str], with_ids: bool) -> Turn:
    """One message as a turn; ``with_ids`` (Gemini 3) pairs calls and results by ``id`` as well as name."""
    if msg.role == "assistant":
        parts = _parts(msg.content, notes)
        for tc in msg.tool_calls or []:
            call: Block = {"name": tc.function.name, "args": tool_arguments(tc), **({"id": tc.id} if with_ids else {})}
            part: Block = {"functionCall": call}
            if sig := thought_signature(tc):
                part["thoughtSignature"] = sig
            parts.append(part)
        return Turn("assistant", parts)
    if msg.role == "tool":
        name = names.get(msg.tool_call_id or "") or msg.name or "unknown_function"
        if name == "unknown_function":
            notes.append(f"{P}: tool result {msg.tool_call_id!r} matches no earlier tool call")
        response: Block = {"name": name, "response": {"result": text_of(msg.content)}}
        if with_ids and msg.tool_call_id:
            response["id"] = msg.tool_call_id
        return Turn("user", [{"functionResponse": response}])
    return Turn("user", _parts(msg.content, notes))


def _sign_first_calls(turns: list[Turn], notes: list[str]) -> None:
    signed = 0
    for turn in turns:
        first = next((p for p in turn.blocks if "functionCall" in p), None) if turn.role == "assistant" else None
        if first is not None and "thoughtSignature" not in first:
            first["thoughtSignature"] = DUMMY_THOUGHT_SIGNATURE
            signed += 1
    if signed:
        notes.append(f"{P}: dummy thought signature on {signed} replayed function call turn(s)")


def _parts(content: str | list[dict[str, Any]] | None, notes: list[str]) -> list[Block]:
    parts: list[Block] = []
    for part in content_parts(content):
        kind = part.get("type")
        if kind in ("text", "refusal"):
            text = str(part.get("text") or part.get("refusal") or "")
            if text:
                parts.append({"text": text})
        elif kind == "image_url":
            parts.append(_media(str((part.get("image_url") or {}).get("url", "")), notes))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            parts.append({"inlineData": {"mimeType": f"audio/{audio.get('format', 'wav')}",
                                         "data": audio.get("data", "")}})
        elif kind == "file" and (data := parse_data_url(str((part.get("file") or {}).get("file_data", "")))):
            parts.append({"inlineData": {"mimeType": data[0], "data": data[1]}})
        else:
            notes.append(f"{P}: dropped a content part of type {kind!r}")
    return parts


def _media(url: str, notes: list[str]) -> Block:
    data = parse_data_url(url)
    if data:
        img = checked_image(data[0], data[1], P)
        if img.note:
            notes.append(img.note)
        return {"inlineData": {"mimeType": img.mime, "data": img.b64}}
    if url.startswith(("https://", "http://", "gs://")):   # only when not downloaded first (gs://: Vertex)
        notes.append(f"{P}: remote image sent as fileData (the Developer API may reject remote URLs)")
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise ProviderError(ErrorClass.LOCAL_INVALID, "image_url.url must be an http(s) URL or a base64 data URL")
