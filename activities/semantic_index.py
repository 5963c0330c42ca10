"""The semantic cache's vector index: an HNSW index per partition in memory, the rows in SQL.

Durable rows live in ``semantic_entries`` (``activities/storage/semantic_tables.py``), so every
replica sees every question; each process keeps one usearch HNSW index (cosine metric) per
partition it has looked up, filled from the rows on first use and caught up on every later lookup
with the rows written since (one indexed query: ``partition = ? AND id > ?``). usearch:
https://github.com/unum-cloud/usearch (Apache-2.0), HNSW after Malkov & Yashunin 2018.

Bounded: an index holds at most ``max_per_partition`` vectors (past it the partition is reloaded
from its newest rows) and at most ``max_partitions`` partitions live in memory (least recently used
dropped first); the table is trimmed to ``max_rows`` with the cache (:meth:`SemanticIndex.trim`).
Every database error is logged and becomes "no candidates": a semantic lookup never fails a
request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from usearch.index import Index

from activities.storage.semantic_tables import semantic_entries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """An indexed question near the one looked up: its answer's exact ``cache_key``, its
    ``question`` text and the cosine ``similarity`` (-1..1)."""

    cache_key: str
    question: str
    similarity: float


@dataclass
class _Partition:
    index: Index
    last_id: int = 0
    rows: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (cache_key, question)


def _as_vector(values: list[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class SemanticIndex:
    """Per-partition nearest-question search over ``semantic_entries`` on ``engine``."""

    def __init__(self, engine: AsyncEngine, *, max_partitions: int = 1000, max_per_partition: int = 50_000,
                 max_rows: int = 100_000, clock=time.time) -> None:
        self._engine = engine
        self._parts: OrderedDict[str, _Partition] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._max_partitions, self._max_per_partition, self._max_rows = max_partitions, max_per_partition, max_rows
        self._clock = clock

    async def add(self, partition: str, cache_key: str, tenant: str, route: str, question: str,
                  vector: list[float] | np.ndarray) -> None:
        """Store one question's vector (L2-normalised here); the index picks it up on its next sync."""
        v = _as_vector(vector)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(sa.insert(semantic_entries).values(
                    partition=partition, cache_key=cache_key, tenant=tenant, route=route, question=question,
                    vector=v.astype("<f4").tobytes(), created_at=self._clock()))
        except Exception:  # noqa: BLE001 - a cache write never fails a request
            log.warning("semantic index: storing a question failed", exc_info=True)

    async def search(self, partition: str, vector: list[float] | np.ndarray, *, k: int = 4,
                     min_similarity: float = 0.0) -> list[Candidate]:
        """Up to ``k`` indexed questions of ``partition`` at or above ``min_similarity`` (cosine),
        nearest first. ``[]`` on any storage error."""
        v = _as_vector(vector)
        try:
            part = await self._synced(partition, v.shape[0])
        except Exception:  # noqa: BLE001
            log.warning("semantic index: sync of a partition failed", exc_info=True)
            return []
        if part is None or len(part.index) == 0:
            return []
        found = part.index.search(v, min(k, len(part.index)))
        out = []
        for label, distance in zip(found.keys, found.distances, strict=True):
            row = part.rows.get(int(label))
            sim = 1.0 - float(distance)  # usearch's cos metric is the cosine distance
            if row is not None and sim >= min_similarity:
                out.append(Candidate(cache_key=row[0], question=row[1], similarity=sim))
        return out

    async def _synced(self, partition: str, ndim: int) -> _Partition | None:
        lock = self._locks.setdefault(partition, asyncio.Lock())
        async with lock:
            part = self._parts.get(partition)
            if part is not None and part.index.ndim != ndim:
                return None  # another model's vectors: the partition key includes the model, so a config change
            if part is None:
                part = _Partition(index=Index(ndim=ndim, metric="cos", dtype="f32"))
                self._parts[partition] = part
                while len(self._parts) > self._max_partitions:
                    gone, _ = self._parts.popitem(last=False)
                    self._locks.pop(gone, None)
            self._parts.move_to_end(partition)
            await self._catch_up(partition, part)
            return part

    async def _catch_up(self, partition: str, part: _Partition) -> None:
        q = (sa.select(semantic_entries.c.id, semantic_entries.c.cache_key, semantic_entries.c.question,
                       semantic_entries.c.vector)
             .where(semantic_entries.c.partition == partition, semantic_entries.c.id > part.last_id)
             .order_by(semantic_entries.c.id.desc()).limit(self._max_per_partition))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        if not rows:
            return
        if len(part.rows) + len(rows) > self._max_per_partition:  # keep the newest: start over from them
            part.index, part.rows = Index(ndim=part.index.ndim, metric="cos", dtype="f32"), {}
        good = [r for r in rows if len(r.vector) == 4 * part.index.ndim]
        if good:
            vecs = np.stack([np.frombuffer(r.vector, dtype="<f4") for r in good])
            part.index.add(np.array([r.id for r in good], dtype=np.uint64), vecs)
            part.rows.update({r.id: (r.cache_key, r.question) for r in good})
        part.last_id = max(part.last_id, max(r.id for r in rows))

    async def trim(self) -> int:
        """Delete the oldest rows past ``max_rows``; returns how many. Errors are logged (0)."""
        try:
            async with self._engine.begin() as conn:
                total = (await conn.execute(sa.select(sa.func.count()).select_from(semantic_entries))).scalar_one()
                if total <= self._max_rows:
                    return 0
                cut = (await conn.execute(sa.select(semantic_entries.c.id).order_by(semantic_entries.c.id.desc())
                                          .offset(self._max_rows).limit(1))).scalar_one()
                res = await conn.execute(sa.delete(semantic_entries).where(semantic_entries.c.id <= cut))
                return res.rowcount or 0
        except Exception:  # noqa: BLE001
            log.warning("semantic index: trimming failed", exc_info=True)
            return 0
