"""Output normalisation: pure text steps applied to an answer, each change recorded.

:func:`normalize_text` runs the steps a route's ``normalize:`` block (``core/normalize_config.py``)
turns on, in this order, and returns the new text with one :class:`Change` per step that changed it:

1. ``unwrap_json_fence`` (JSON answers): a fenced block (```` ```json ... ``` ````) or a JSON value
   inside prose -> that JSON text, when it parses;
2. ``strip_preamble``: a first line that only announces the answer ("Sure!", "Certainly. Here is
   the summary:") is dropped, and so is "Here's the JSON:" in front of JSON or a code fence on the
   same line;
3. ``strip_signoff``: a last paragraph that only closes ("Let me know if you have any other
   questions!", "I hope this helps.") is dropped;
4. ``markdown`` (prose): ``plain`` removes the markup (headings, emphasis, inline code, fences,
   links become ``text (url)``, bullets ``-``); ``standard`` keeps markdown but unifies its
   conventions (bullets ``-``, bold ``**``, one blank line before a heading);
5. ``max_chars`` (prose): cut at the last sentence end within the limit (else the last space).

A step that would leave no text changes nothing. :func:`schema_errors` validates a JSON answer
against a JSON Schema; :func:`repair_request` is the one repair call's request.
Pure and deterministic; never logs the text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs

from core.chat import ChatMessage, ChatRequest
from core.normalize_config import NormalizeConfig
from core.quality_trace import Change

_INTERJECTION = r"(?:sure|certainly|of course|absolutely|okay|ok|alright|great(?: question)?|no problem|got it)"
_ANNOUNCE = (r"(?:here(?:'s| is| are| you go| it is)|below (?:is|are)|the following is"
             r"|i(?:'ve| have) (?:written|prepared))")
_PREAMBLE_LINE = re.compile(
    rf"^\s*(?:{_INTERJECTION}[!.,]*\s*)?(?:{_ANNOUNCE}\b[^\n]{{0,160}}:|{_INTERJECTION}[!.]*)[ \t]*(?:\n+|$)",
    re.IGNORECASE)
_PREAMBLE_INLINE = re.compile(rf"^\s*(?:{_INTERJECTION}[!.,]*\s*)?{_ANNOUNCE}\b[^\n:]{{0,120}}:[ \t]+(?=[{{\[`])",
                              re.IGNORECASE)
_SIGNOFF = re.compile(
    r"(?:let me know if|i hope (?:this|that) helps|hope (?:this|that) helps|feel free to|if you have any "
    r"(?:other |more |further )?questions|happy to help|glad (?:i could|to) help|best regards|kind regards|cheers[!.]?$"
    r"|is there anything else)", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?。！？](?=\s|$)|\n")
MAX_SIGNOFF_CHARS = 300
#: How the repair call's instruction starts (the simulator recognises repair requests by it).
REPAIR_PREFIX = "Your previous answer is not valid for the required JSON format"


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def unwrap_json(text: str) -> tuple[str, str | None]:
    """``(json_text, what was done)``: the JSON inside a code fence, or the outermost ``{...}`` /
    ``[...]`` inside prose, when the whole text does not parse and that part does; else unchanged."""
    if _parses(text.strip()):
        return (text.strip(), "surrounding whitespace removed") if text != text.strip() else (text, None)
    for m in _FENCE.finditer(text):
        inner = m.group(2).strip()
        if _parses(inner):
            return inner, f"code fence ({m.group(1) or 'no language'}) removed"
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end and _parses(text[start:end + 1]):
            return text[start:end + 1], f"{start} chars before and {len(text) - end - 1} after the JSON removed"
    return text, None


def strip_preamble(text: str) -> tuple[str, str | None]:
    """Drop an announcing first line ("Sure! Here is the summary:"); see module docstring."""
    m = _PREAMBLE_LINE.match(text) or _PREAMBLE_INLINE.match(text)
    if m is None or not text[m.end():].strip():
        return text, None
    return text[m.end():].lstrip("\n"), f"removed {m.group(0).strip()[:80]!r}"


def strip_signoff(text: str) -> tuple[str, str | None]:
    """Drop a closing last paragraph ("Let me know if ...!") of at most 300 chars."""
    body = text.rstrip()
    cut = max(body.rfind("\n\n"), body.rfind("\n"))
    if cut < 0:  # one paragraph: a closing last sentence
        ends = [m.end() for m in _SENTENCE_END.finditer(body[:-1])]
        cut = ends[-1] if ends else -1
    if cut <= 0:
        return text, None
    last = body[cut:].strip()
    if len(last) > MAX_SIGNOFF_CHARS or not _SIGNOFF.search(last) or not body[:cut].strip():
        return text, None
    return body[:cut].rstrip(), f"removed {last[:80]!r}"


def limit_chars(text: str, max_chars: int) -> tuple[str, str | None]:
    """At most ``max_chars`` chars: cut after the last sentence end within the limit when that
    keeps at least half of it, else at the last space, else hard."""
    if len(text) <= max_chars:
        return text, None
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= max_chars // 2:
        cut = ends[-1]
    else:
        space = head.rfind(" ")
        cut = space if space >= max_chars // 2 else max_chars
    return head[:cut].rstrip(), f"cut from {len(text)} to at most {max_chars} chars"


_MD_PLAIN = [
    (re.compile(r"^```[^\n]*\n?|^```\s*$", re.MULTILINE), ""),          # fence lines
    (re.compile(r"^#{1,6}[ \t]+", re.MULTILINE), ""),                  # headings
    (re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.DOTALL), r"\1\2"),       # bold
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?!\w)|(?<![\w_])_(?!\s)([^_\n]+?)_(?!\w)"), r"\1\2"),  # italic
    (re.compile(r"`([^`\n]+)`"), r"\1"),                               # inline code
    (re.compile(r"!?\[([^\]\n]+)\]\(([^)\s]+)\)"), r"\1 (\2)"),         # links and images
    (re.compile(r"^([ \t]*)[*+][ \t]+", re.MULTILINE), r"\1- "),        # bullets
]
_MD_STANDARD = [
    (re.compile(r"^([ \t]*)[*+][ \t]+", re.MULTILINE), r"\1- "),        # bullets
    (re.compile(r"__(\S(?:.*?\S)?)__"), r"**\1**"),                     # bold
    (re.compile(r"([^\n])\n(#{1,6}[ \t])"), r"\1\n\n\2"),               # blank line before a heading
]


def map_markdown(text: str, mode: str) -> tuple[str, str | None]:
    """Markdown conventions: ``plain`` strips the markup, ``standard`` unifies it, ``keep`` nothing."""
    rules = {"plain": _MD_PLAIN, "standard": _MD_STANDARD}.get(mode)
    if not rules:
        return text, None
    out = text
    for pattern, repl in rules:
        out = pattern.sub(repl, out)
    return (out, f"markdown mapped to {mode}") if out != text else (text, None)


def normalize_text(text: str, cfg: NormalizeConfig, *, json_answer: bool) -> tuple[str, list[Change]]:
    """Apply the configured steps (module docstring) to ``text``; ``json_answer``: the request asked
    for JSON (prose steps 4-5 are skipped, unwrapping is on). Returns the text and its changes."""
    steps: list[tuple[str, Any]] = []
    if json_answer or cfg.unwrap_json_fence:
        steps.append(("unwrap_json_fence", unwrap_json))
    if cfg.strip_preamble:
        steps.append(("strip_preamble", strip_preamble))
    if cfg.strip_signoff:
        steps.append(("strip_signoff", strip_signoff))
    if not json_answer and cfg.markdown != "keep":
        steps.append(("markdown", lambda t: map_markdown(t, cfg.markdown)))
    if not json_answer and cfg.max_chars is not None:
        steps.append(("max_chars", lambda t: limit_chars(t, cfg.max_chars)))
    changes: list[Change] = []
    for name, step in steps:
        new, detail = step(text)
        if detail is not None and new.strip():
            changes.append(Change(step=name, detail=detail, chars_before=len(text), chars_after=len(new)))
            text = new
    return text, changes


def request_schema(req: ChatRequest) -> dict[str, Any] | None:
    """The JSON Schema of a ``response_format`` of type ``json_schema`` (``{json_schema: {schema}}``)."""
    fmt = req.response_format or {}
    if fmt.get("type") != "json_schema":
        return None
    schema = (fmt.get("json_schema") or {}).get("schema")
    return schema if isinstance(schema, dict) else None


def schema_errors(text: str, schema: dict[str, Any] | None, limit: int = 5) -> list[str]:
    """Why ``text`` is not a JSON value valid for ``schema`` (``None``: any JSON); at most ``limit``
    messages, each naming the JSON path (``$.items[0].sku: ...``); empty when it is valid."""
    try:
        value = json.loads(text)
    except ValueError as e:
        return [f"not valid JSON: {e}"]
    if schema is None:
        return []
    out: list[str] = []
    for err in jsonschema_rs.validator_for(schema).iter_errors(value):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.instance_path)
        out.append(f"{path}: {err.message}")
        if len(out) >= limit:
            break
    return out


def repair_request(req: ChatRequest, bad_answer: str, errors: list[str]) -> ChatRequest:
    """The one repair call: the original conversation, the invalid answer, and what is wrong with
    it; asks for the corrected JSON only (same ``response_format``)."""
    problem = "; ".join(errors)[:1000]
    fix = (f"{REPAIR_PREFIX}: {problem}. "
           "Reply with the corrected JSON only, without any other text or code fence.")
    return req.model_copy(update={"messages": [*req.messages, ChatMessage(role="assistant", content=bad_answer),
                                               ChatMessage(role="user", content=fix)], "stream": None})
