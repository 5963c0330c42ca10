"""Plausible English answers derived from the prompt, and token counts.

Answers reuse the key words of the last user message in template sentences, so an answer is visibly
"about" the question without any model. The template choices come from a ``random.Random`` seeded
with :func:`prompt_seed`, so two targets answer the same request with the same prose. Length: about
4 characters per token (the heuristic of ``core/tokens.py``); :func:`count_tokens` is the same rule,
so usage matches the text produced.
"""

from __future__ import annotations

import hashlib
import math
import random
import re

CHARS_PER_TOKEN = 4
PER_MESSAGE_TOKENS = 4

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOPWORDS = frozenset("""
about above after again against also among answer around because been before being below between
both could does doing down during each either every from further have having here into itself just
like make many more most much must need only other over please really same should since some such
than that their them then there these they thing things this those through under until very want
what when where which while will with would write your yours yourself tell give explain describe
short brief briefly reply respond question using used json return object format summarise summarize
list sentence sentences words paragraph""".split())

_SENTENCES = (
    "Here is a short answer about {a}.",
    "The key point about {a} is that it depends on {b}.",
    "In practice, {a} works best when {b} is considered early.",
    "A common mistake with {a} is to ignore {b}.",
    "Most teams start with {a} and then look at {b}.",
    "When {b} changes, {a} usually has to change with it.",
    "It helps to measure {a} before and after any change to {b}.",
    "The simplest approach to {a} is often the most reliable one.",
    "For {a}, the trade-off is between speed and {b}.",
    "To summarise, {a} and {b} are closely related.",
)
_FILLER_WORDS = ("the request", "the topic", "the details", "the context")
_OFF_TOPIC = (
    "Tomatoes grow best in full sun with regular watering.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Migrating birds can fly thousands of kilometres each autumn.",
    "The museum reopens on Tuesday after the winter renovation.",
    "A good pair of hiking boots needs a few weeks to break in.",
    "Jazz musicians often improvise over a fixed chord progression.",
)


def count_tokens(text: str) -> int:
    """Tokens in ``text`` by the 4-characters rule (0 for empty text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def prompt_tokens(texts: list[str], extra: str = "") -> int:
    """Prompt tokens: chars/4 of each message plus 4 per message, plus chars/4 of ``extra`` (tools)."""
    return sum(count_tokens(t) + PER_MESSAGE_TOKENS for t in texts) + count_tokens(extra)


def prompt_seed(texts: tuple[str, ...] | list[str]) -> int:
    """A seed for the prose of an answer, from the prompt's texts alone (SHA-256 of the texts joined
    by U+001F): the same request gets the same prose from every target."""
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


def keywords(text: str, limit: int = 6) -> list[str]:
    """Up to ``limit`` distinct content words of ``text``, in order of appearance."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        low = word.lower().strip("'-")
        if low not in _STOPWORDS and len(low) >= 4:
            seen.setdefault(low, None)
        if len(seen) >= limit:
            break
    return list(seen) or list(_FILLER_WORDS[:2])


def _fit(text: str, chars: int) -> str:
    """Cut ``text`` to about ``chars`` characters at a word boundary, ending with a full stop."""
    if len(text) <= chars:
        return text
    sentence_end = text.rfind(". ", 0, chars)
    if sentence_end >= chars * 0.7:
        return text[: sentence_end + 1]
    cut = text[:chars].rsplit(" ", 1)[0].rstrip(",;:.") or text[:chars]
    return cut + "."


def compose(words: list[str], tokens: int, rng: random.Random) -> str:
    """About ``tokens`` tokens of prose built from ``words``."""
    chars = max(1, tokens) * CHARS_PER_TOKEN
    pool = words or list(_FILLER_WORDS)
    parts: list[str] = []
    length = 0
    i = 0
    while length < chars:
        a = pool[i % len(pool)]
        b = pool[(i + 1) % len(pool)] if len(pool) > 1 else rng.choice(_FILLER_WORDS)
        template = _SENTENCES[0] if i == 0 else rng.choice(_SENTENCES[1:])
        sentence = template.format(a=a, b=b)
        parts.append(sentence[0].upper() + sentence[1:])
        length += len(parts[-1]) + 1
        i += 1
    return _fit(" ".join(parts), chars)


def off_topic(tokens: int, rng: random.Random) -> str:
    """About ``tokens`` tokens of fluent text unrelated to any prompt."""
    chars = max(1, tokens) * CHARS_PER_TOKEN
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < chars:
        parts.append(rng.choice(_OFF_TOPIC))
    return _fit(" ".join(parts), chars)


def phrase(words: list[str], rng: random.Random, max_len: int | None = None) -> str:
    """A short phrase (a few key words) for string values in generated JSON."""
    pool = words or list(_FILLER_WORDS)
    n = min(len(pool), rng.randint(1, 3))
    text = " ".join(pool[:n])
    return text[:max_len] if max_len is not None else text
