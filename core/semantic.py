"""Semantic-cache rules that need no model: the question a request asks, and the guard that keeps
look-alike questions needing different answers apart.

Pure (no I/O). Used by ``bench/semantic_precision.py``; the semantic cache mode itself is not wired
into the request path yet (``docs/CACHE.md``).

The guard (:func:`same_particulars`) answers the near-miss trap of embedding similarity: "refund
order 123" and "refund order 124" embed almost identically (cosine ~0.98 with all-MiniLM-L6-v2) but
need different answers. Two questions may share an answer only if they carry the same numbers /
identifiers and the same negations.
"""

from __future__ import annotations

import re

from core.chat import ChatRequest

_NUMBERS = re.compile(r"\b[\w-]*\d[\w-]*\b")
_NEGATIONS = {"not", "no", "never", "don't", "dont", "doesn't", "isn't", "won't", "can't", "cannot", "without"}


def question(req: ChatRequest) -> str | None:
    """The text of the request's only user message, or ``None`` when the request is not a first
    turn (more than one user message, or any assistant/tool message)."""
    users = [m for m in req.messages if m.role == "user"]
    if len(users) != 1 or any(m.role in ("assistant", "tool") for m in req.messages):
        return None
    content = users[0].content
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text")


def particulars(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(numbers and identifiers, negation words) of ``text``, lower-cased."""
    low = text.lower()
    words = set(re.findall(r"[a-z']+", low))
    return frozenset(_NUMBERS.findall(low)), frozenset(words & _NEGATIONS)


def same_particulars(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` carry the same numbers/identifiers and the same negations."""
    return particulars(a) == particulars(b)
