"""Mistral's dialect of Chat Completions, applied by the OpenAI adapter to Mistral-hosted targets.

A target is Mistral-hosted when its provider's base URL host is ``api.mistral.ai`` (or another
``*.mistral.ai`` host). Differences from OpenAI (providers.md §1.4, §0 #12, §4.1 "Mistral column"):

- ``max_completion_tokens`` -> ``max_tokens`` and ``seed`` -> ``random_seed``;
- any field outside Mistral's list is dropped with a note (unknown fields fail with 422
  ``extra_forbidden``), as are message fields Mistral does not define;
- ``developer`` messages are sent as ``system``;
- tool-call ids must be 9 characters of ``[a-zA-Z0-9]``: other ids are rewritten deterministically
  (same mapping for ``assistant.tool_calls[].id`` and ``tool.tool_call_id``). Ids in the answer are
  Mistral's own new ids, so no reverse map is needed;
- a ``user`` message directly after a ``tool`` message gets an assistant bridge turn before it;
- a trailing assistant message is sent with ``prefix: true`` (Mistral's continuation form).
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any
from urllib.parse import urlparse

P = "mistral"
BRIDGE_TEXT = "."

FIELDS = frozenset({"model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed",
                    "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n",
                    "prediction", "parallel_tool_calls", "reasoning_effort", "prompt_mode", "guardrails",
                    "prompt_cache_key", "safe_prompt"})
MESSAGE_FIELDS = frozenset({"role", "content", "tool_calls", "tool_call_id", "name", "prefix"})
_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
_ALPHABET = string.ascii_letters + string.digits


def is_mistral_host(base_url: str) -> bool:
    """True for ``https://api.mistral.ai/...`` and other ``*.mistral.ai`` hosts."""
    host = (urlparse(base_url).hostname or "").lower()
    return host == "mistral.ai" or host.endswith(".mistral.ai")


def mistral_tool_id(tool_call_id: str) -> str:
    """A Mistral-valid id (9 alphanumerics): kept when already valid, else derived from a hash."""
    if _ID.match(tool_call_id):
        return tool_call_id
    n = int.from_bytes(hashlib.sha256(tool_call_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        n, r = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[r])
    return "".join(chars)


def to_mistral(body: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Rewrite an OpenAI-shaped body (already dumped to JSON types) into Mistral's dialect."""
    out = dict(body)
    if "max_completion_tokens" in out:
        out["max_tokens"] = out.pop("max_completion_tokens")
        notes.append(f"{P}: max_completion_tokens sent as max_tokens")
    if "seed" in out:
        out["random_seed"] = out.pop("seed")
        notes.append(f"{P}: seed sent as random_seed")
    extra = sorted(k for k in out if k not in FIELDS)
    if extra:
        notes.append(f"{P}: dropped {', '.join(extra)} (not accepted by Mistral)")
    out = {k: v for k, v in out.items() if k in FIELDS}
    out["messages"] = _messages(out.get("messages") or [], notes)
    return out


def _messages(messages: list[dict[str, Any]], notes: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rewritten = stripped = False
    for msg in messages:
        clean = {k: v for k, v in msg.items() if k in MESSAGE_FIELDS}
        stripped = stripped or len(clean) < len(msg)
        if clean.get("role") == "developer":
            clean["role"] = "system"
        if out and out[-1].get("role") == "tool" and clean.get("role") == "user":
            out.append({"role": "assistant", "content": BRIDGE_TEXT})
            notes.append(f"{P}: assistant bridge inserted between a tool result and a user message")
        rewritten = _rewrite_ids(clean) or rewritten
        out.append(clean)
    if out and out[-1].get("role") == "assistant" and not out[-1].get("tool_calls"):
        out[-1]["prefix"] = True
        notes.append(f"{P}: trailing assistant message sent with prefix=true")
    if rewritten:
        notes.append(f"{P}: tool call ids rewritten to 9 alphanumeric characters")
    if stripped:
        notes.append(f"{P}: dropped message fields Mistral does not accept")
    return out


def _rewrite_ids(msg: dict[str, Any]) -> bool:
    changed = False
    if msg.get("tool_call_id"):
        new = mistral_tool_id(str(msg["tool_call_id"]))
        changed = new != msg["tool_call_id"]
        msg["tool_call_id"] = new
    if msg.get("tool_calls"):
        calls = []
        for tc in msg["tool_calls"]:
            new = mistral_tool_id(str(tc.get("id", "")))
            changed = changed or new != tc.get("id")
            calls.append({"id": new, "type": "function", "function": tc.get("function", {})})
        msg["tool_calls"] = calls
    return changed
