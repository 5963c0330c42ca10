"""The semantic cache lookup: a question close enough in meaning to one already answered.

Runs inside the planning local activity after an exact miss, for routes with ``cache.mode:
semantic`` (``core/semantic.py``): embed the question (``activities/semantic_embedder.py``),
search its partition's vector index (``activities/semantic_index.py``) for questions at or above
the route's ``threshold``, drop those whose particulars differ (guard), and serve the nearest
whose answer is still fresh in the exact cache (``activities/cache.py``: the same TTL tiers,
outcome row, zero billed usage and saved cost). On a miss the question's vector is indexed under
the request's exact key, so once the answer is stored, later paraphrases find it; a question
whose answer is never stored (an error, a flagged answer) matches nothing.

What a semantic lookup costs on a miss is one embedding call (bounded by ``semantic.timeout_s``)
and two indexed queries; none of it can fail the request (every error is a miss).
"""

from __future__ import annotations

import logging

from activities.cache import ResponseCache
from activities.semantic_embedder import QuestionEmbedder
from activities.semantic_index import SemanticIndex
from core.cache import CacheConfig, CacheHit
from core.plan import PlanInput
from core.semantic import partition_key, same_particulars

log = logging.getLogger(__name__)


class SemanticCache:
    """Semantic lookups over ``cache``'s entries (see module docstring); ``trim_every``: adds
    between two trims of the index table."""

    def __init__(self, cache: ResponseCache, embedder: QuestionEmbedder, index: SemanticIndex, *,
                 trim_every: int = 200) -> None:
        self._cache, self._embedder, self._index = cache, embedder, index
        self._trim_every, self._adds = trim_every, 0

    @staticmethod
    def applies(cfg: CacheConfig, inp: PlanInput) -> bool:
        """True when the route is semantic and the request has a question it may be matched on."""
        sem = cfg.semantic
        return (cfg.mode == "semantic" and sem is not None and inp.semantic_question is not None
                and inp.semantic_context is not None and (inp.semantic_first_turn or sem.multi_turn))

    async def lookup(self, route: str, inp: PlanInput, exact_key: str, cfg: CacheConfig, *,
                     record_as: str | None = None) -> CacheHit | None:
        """A fresh answer to a question near ``inp.semantic_question`` in its partition, with its
        ``similarity``; ``None`` (and the question indexed under ``exact_key``) otherwise.
        ``record_as``: as :meth:`activities.cache.ResponseCache.lookup` (outside an activity)."""
        sem, text = cfg.semantic, inp.semantic_question
        if not self.applies(cfg, inp) or sem is None or text is None or inp.semantic_context is None:
            return None
        embedded = await self._embedder.embed(sem, text)
        if embedded is None:
            return None
        embedder, vector = embedded
        part = partition_key(route, inp.tenant, inp.semantic_context, embedder)
        known = False
        for c in await self._index.search(part, vector, k=sem.candidates, min_similarity=sem.threshold):
            if c.cache_key == exact_key:
                known = True  # this very question, indexed before: its answer missed in the exact lookup
                continue
            if sem.particulars_guard and not same_particulars(text, c.question):
                continue
            hit = await self._cache.lookup(route, inp.tenant, c.cache_key, cfg, similarity=c.similarity,
                                           record_as=record_as)
            if hit is not None:
                return hit
        if not known:
            await self._index.add(part, exact_key, inp.tenant, route, text, vector)
            self._adds += 1
            if self._adds % self._trim_every == 0:
                await self._index.trim()
        return None
