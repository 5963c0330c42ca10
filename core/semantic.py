"""Semantic-cache rules that need no model: the route's ``cache.semantic`` block, the question a
request asks, the partition it may match within, and the guard that keeps look-alike questions
needing different answers apart.

Pure (no I/O, importable inside workflows). The embedding call and the vector index are I/O and
live in ``activities/semantic_embedder.py`` and ``activities/semantic_index.py``; the lookup in
``activities/semantic_cache.py``. Design and the measured precision: ``docs/CACHE.md``.

A semantic hit needs, besides a cosine similarity at or above the route's ``threshold``:

- the same **partition** (:func:`partition_key`): route, tenant, embedding model and the digest of
  everything in the request except the question's text (system prompt, earlier turns, tools,
  response format, sampling). A paraphrase asked under another system prompt, with other tools or
  another temperature, or by another tenant, never matches;
- the same **particulars** (:func:`same_particulars`), unless the route turns the guard off. This
  answers the near-miss trap of embedding similarity: "refund order 123" and "refund order 124"
  embed almost identically (cosine ~0.98 with all-MiniLM-L6-v2) but need different answers. Two
  questions may share an answer only if they carry the same numbers / identifiers and the same
  negations, and are not one swapped content word or a reordering apart ("upgrade" /
  "downgrade", "London to Paris" / "Paris to London").
"""

from __future__ import annotations

import hashlib
import json
import re

from pydantic import BaseModel, ConfigDict, Field

from core.chat import ChatRequest

_NUMBERS = re.compile(r"\b[\w-]*\d[\w-]*\b")
#: Words that are particulars like digits are: number words, ordinals, weekdays and months
#: ("the fifth day" / "the sixth day", "on Monday" / "on Friday" must never share an answer).
_PARTICULAR_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
    "thousand million billion half quarter double twice triple first second third fourth fifth sixth "
    "seventh eighth ninth tenth eleventh twelfth last once monday tuesday wednesday thursday friday "
    "saturday sunday weekday weekend january february march april may june july august september "
    "october november december today tomorrow yesterday daily weekly monthly yearly annual annually "
    "hourly".split())
_NEGATIONS = {"not", "no", "never", "don't", "dont", "doesn't", "isn't", "won't", "can't", "cannot", "without"}
_WORD = re.compile(r"[a-z0-9']+")
#: Function words: a difference in these alone is rewording, not another question. Contrast words
#: (on/off, in/out, after/within, before/during) are left out on purpose.
_STOP = {"a", "an", "the", "is", "are", "was", "were", "be", "do", "does", "did", "i", "me", "my", "you",
         "your", "we", "our", "us", "it", "its", "this", "that", "of", "for", "at", "by", "to", "and", "or",
         "can", "could", "would", "should", "will", "how", "what", "what's", "which", "when", "where", "why",
         "who", "please", "there", "any", "some", "get", "have", "has"}
#: Word edits within which two sentences with a content word each the other lacks are one
#: particular apart (``one_particular_apart``).
_NEAR_EDITS = 2
#: ``embed_with`` value naming the in-process model (``all-MiniLM-L6-v2``, extra ``semantic``).
LOCAL_EMBEDDER = "local"
#: Request fields left out of the partition digest (as in ``core/cache.py``: they do not change the answer).
_NOT_IN_CONTEXT = {"model", "stream", "stream_options", "user", "metadata"}


class SemanticCacheConfig(BaseModel):
    """A route's ``cache.semantic`` block (with ``cache.mode: semantic``).

    ``embed_with``: the route whose chain embeds the question (its targets need the
    ``embeddings`` capability; walked in order, the next target on any error: the same adapters
    as ``/v1/embeddings``), or ``local`` for all-MiniLM-L6-v2 in-process (``pip install
    'switchyard[semantic]'``). ``threshold``: the least cosine similarity of a hit, in (0, 1];
    0.80 is where all-MiniLM-L6-v2 with the guard kept the most paraphrases (32% tuning set, 47%
    held-out set) with no false hit on either (``bench/semantic_precision.py``, ``docs/CACHE.md``);
    another embedding model needs its own threshold. ``particulars_guard``: also require
    :func:`same_particulars`.
    ``multi_turn``: also match the last question of a request with earlier turns (within the
    partition of those same earlier turns); off by default. ``candidates``: nearest entries
    examined per lookup. ``timeout_s``: bound of the embedding call; past it the lookup is a miss.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    embed_with: str
    threshold: float = Field(default=0.80, gt=0, le=1)
    particulars_guard: bool = True
    multi_turn: bool = False
    candidates: int = Field(default=4, ge=1, le=64)
    timeout_s: float = Field(default=2.0, gt=0, le=30)


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def question(req: ChatRequest, *, multi_turn: bool = False) -> str | None:
    """The text of the question ``req`` asks: its only user message, or, with ``multi_turn``, its
    last message when that is a user message. ``None`` when there is none to match on (not a first
    turn without ``multi_turn``; last message not from the user; no text)."""
    users = [m for m in req.messages if m.role == "user"]
    first_turn = len(users) == 1 and not any(m.role in ("assistant", "tool") for m in req.messages)
    if not req.messages or req.messages[-1].role != "user" or not (first_turn or multi_turn):
        return None
    text = _text(req.messages[-1].content).strip()
    return text or None


def context_digest(req: ChatRequest) -> str:
    """SHA-256 hex of ``req`` with its last message's content blanked: everything but the question
    (canonical JSON, as :func:`core.cache.request_digest`)."""
    body = req.model_dump(mode="json", exclude_none=True, exclude=_NOT_IN_CONTEXT)
    if body.get("messages"):
        body["messages"][-1]["content"] = ""
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def partition_key(route: str, tenant: str, context: str, embedder: str) -> str:
    """The partition a question is matched within: SHA-256 hex over route, tenant, the request's
    :func:`context_digest` and the embedding model's id (vectors of two models never compare)."""
    return hashlib.sha256(f"v1\x00{route}\x00{tenant}\x00{context}\x00{embedder}".encode()).hexdigest()


def particulars(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(numbers, identifiers and particular words such as "fifth" or "Monday", negation words)
    of ``text``, lower-cased."""
    low = text.lower()
    words = set(re.findall(r"[a-z']+", low))
    return frozenset(_NUMBERS.findall(low)) | (words & _PARTICULAR_WORDS), frozenset(words & _NEGATIONS)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _edit_distance(a: list[str], b: list[str]) -> int:
    """Word-level Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        cur = [i]
        for j, wb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wa != wb)))
        prev = cur
    return prev[-1]


def one_particular_apart(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are the same sentence but for a swapped particular: at most
    :data:`_NEAR_EDITS` words apart with a content word on each side that the other lacks
    ("upgrade" / "downgrade", "Saturday" / "Sunday", "turn on" / "turn off"), or the same content
    words in another order ("London to Paris" / "Paris to London"). Paraphrases reword more than
    that; near misses built by changing one particular do not."""
    wa, wb = _words(a), _words(b)
    if wa == wb:
        return False
    ca, cb = [w for w in wa if w not in _STOP], [w for w in wb if w not in _STOP]
    if sorted(ca) == sorted(cb):
        return ca != cb
    only_a, only_b = set(ca) - set(cb), set(cb) - set(ca)
    return bool(only_a and only_b) and _edit_distance(wa, wb) <= _NEAR_EDITS


def same_particulars(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` may share an answer: the same numbers/identifiers, the same
    negations, and not :func:`one_particular_apart`."""
    return particulars(a) == particulars(b) and not one_particular_apart(a, b)
