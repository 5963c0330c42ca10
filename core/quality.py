"""Answer checks run on every successful answer (DESIGN.md "Response checks", RESILIENCE.md R1.3).

``check_answer(request, response) -> tuple[str, ...]`` returns the flags of ``core/quality_flags.py``:

- ``empty``: no text, no tool call and no refusal.
- ``truncated``: finish reason ``length`` while the caller's cap was not reached (or no cap was
  set), or prose that ends mid-word with finish reason ``stop`` (>= 40 characters, last character
  a letter or digit or comma).
- ``repetition``: a unit of 1-25 words repeated at least 5 times in a row, covering >= 20 words
  (a looping decoder; catalogues give only illustrative thresholds, RESILIENCE.md [S43], so health
  compares the flag's rate with the target's own baseline rather than trusting it absolutely).
- ``foreign_script``: >= 4 letters of a writing system that no request message uses and that is
  not the answer's main one, making up < 30 % of its letters (the Anthropic 2025-08 incident).
- ``invalid_json``: JSON was asked (``response_format``) and the text does not parse (a fenced
  code block is unwrapped first), or a tool call's arguments do not parse.
- ``refusal``: a ``refusal`` field, finish reason ``content_filter``, or a stock refusal opening.

Pure and deterministic; never logs or stores the text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from functools import lru_cache

from core import quality_flags as qf
from core.chat import ChatRequest, ChatResponse

_REFUSAL = re.compile(
    r"^\s*(?:(?:i'?m|i am) sorry|i apologi[sz]e|sorry)\b.{0,80}?\b(?:can'?t|cannot|can not|unable|won'?t|not able)\b"
    r"|^\s*i (?:can'?t|cannot|won'?t|am unable to|'m unable to|'m not able to) (?:help|assist|provide|comply|do)",
    re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)
_ENDINGS = frozenset(".!?:;)]}\"'`*>|…。！？」』")
_MAX_WORDS = 3000


@lru_cache(maxsize=4096)
def _script(ch: str) -> str | None:
    """Writing system of a letter (first word of its Unicode name, CJK scripts merged), else None."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    if first in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC"):
        return "CJK"
    return first or None


def scripts(text: str) -> Counter[str]:
    """Letters per writing system in ``text``."""
    return Counter(s for s in map(_script, text) if s)


def _request_scripts(req: ChatRequest) -> set[str]:
    return set().union(*(scripts(m.text()).keys() for m in req.messages))


def foreign_script(text: str, expected: set[str]) -> bool:
    counts = scripts(text)
    if not counts:
        return False
    main, _ = counts.most_common(1)[0]
    total = sum(counts.values())
    return any(n >= 4 and n < 0.3 * total for s, n in counts.items() if s != main and s not in expected)


def repetition(text: str, max_unit: int = 25, min_repeats: int = 5, min_words: int = 20) -> bool:
    """A unit of up to ``max_unit`` words repeated ``min_repeats`` times in a row over ``min_words``."""
    words = text.lower().split()[-_MAX_WORDS:]
    n = len(words)
    for k in range(1, max_unit + 1):
        run = 0
        for i in range(k, n):
            run = run + 1 if words[i] == words[i - k] else 0
            if run >= k * (min_repeats - 1) and run + k >= min_words:
                return True
    return False


def _invalid_json(text: str) -> bool:
    m = _FENCE.match(text)
    try:
        json.loads(m.group(1) if m else text)
    except ValueError:
        return True
    return False


def _truncated(req: ChatRequest, resp: ChatResponse, text: str, json_asked: bool) -> bool:
    choice = resp.choices[0]
    if choice.finish_reason == "length":
        cap = req.output_cap()
        return cap is None or resp.usage.completion_tokens < 0.9 * cap
    stripped = text.rstrip()
    if choice.finish_reason != "stop" or json_asked or len(stripped) < 40:
        return False
    last = stripped[-1]
    return last not in _ENDINGS and (last.isalnum() or last == ",")


def check_answer(req: ChatRequest, resp: ChatResponse) -> tuple[str, ...]:
    """Flags of one answer (see module docstring), in ``quality_flags.ALL`` order."""
    if not resp.choices:
        return (qf.EMPTY,)
    msg = resp.choices[0].message
    text = msg.content or ""
    json_asked = req.wants_json()
    found: set[str] = set()
    if msg.refusal or resp.choices[0].finish_reason == "content_filter" or _REFUSAL.match(text[:300]):
        found.add(qf.REFUSAL)
    if not text.strip() and not msg.tool_calls and qf.REFUSAL not in found:
        found.add(qf.EMPTY)
    if text.strip():
        if _truncated(req, resp, text, json_asked):
            found.add(qf.TRUNCATED)
        if repetition(text):
            found.add(qf.REPETITION)
        if foreign_script(text, _request_scripts(req)):
            found.add(qf.FOREIGN_SCRIPT)
        if json_asked and _invalid_json(text):
            found.add(qf.INVALID_JSON)
    if any(_invalid_json(tc.function.arguments or "{}") for tc in msg.tool_calls or []):
        found.add(qf.INVALID_JSON)
    return tuple(f for f in qf.ALL if f in found)
