"""Versioned rankings: written by the learning workflow, read by planning (cached) and the CLI.

:class:`RankingStore` writes a ranking as the next version of its task type, idempotently per
learning run (a retried write returns the version already written), and reads the latest or
the last few. :class:`RankingCache` is what planning holds: the latest ranking of every task
type in memory, refreshed only when ``max(rankings.id)`` changes, which it checks at most every
``check_s`` seconds (default 2 s): planning never queries per request, and a new version
reaches every worker within about ``check_s``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.storage.ranking_tables import FIGURE_COLUMNS, ranking_entries, rankings
from core.learning.model import Figures, RankedTarget, Ranking

log = logging.getLogger(__name__)


def _entry_row(ranking_id: int, position: int, t: RankedTarget) -> dict[str, object]:
    figs = t.figures.model_dump()
    return {"ranking_id": ranking_id, "position": position, "target": t.target, "rank": t.rank, "score": t.score,
            "p_best": t.p_best, "share": t.share, "why": t.why[:500], "reset": ",".join(t.figures.reset),
            **{c: figs[c] for c in FIGURE_COLUMNS}}


def _entry(row: sa.Row) -> RankedTarget:
    m = row._mapping
    figs = Figures(**{c: m[c] for c in FIGURE_COLUMNS}, reset=[s for s in m["reset"].split(",") if s])
    return RankedTarget(target=m["target"], rank=m["rank"], score=m["score"], p_best=m["p_best"], share=m["share"],
                        why=m["why"], figures=figs)


class RankingStore:
    """Reads and writes rankings through an injected async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, ranking: Ranking, run_id: str) -> Ranking:
        """Store ``ranking`` as its task type's next version and return it with ``version`` and
        ``run_id`` set; if ``run_id`` already wrote this task type, return that one unchanged."""
        for _ in range(3):  # a concurrent writer may take the same version: try the next one
            try:
                async with self._engine.begin() as conn:
                    return await self._write(conn, ranking, run_id)
            except IntegrityError:
                continue
        raise RuntimeError(f"could not write a ranking for {ranking.task_type!r} after 3 tries")

    async def _write(self, conn: AsyncConnection, ranking: Ranking, run_id: str) -> Ranking:
        existing = (await conn.execute(sa.select(rankings.c.id).where(
            rankings.c.task_type == ranking.task_type, rankings.c.run_id == run_id))).scalar()
        if existing is not None:
            return (await self._load(conn, [existing]))[0]
        latest = (await conn.execute(sa.select(sa.func.max(rankings.c.version)).where(
            rankings.c.task_type == ranking.task_type))).scalar()
        version = (latest or 0) + 1
        res = await conn.execute(sa.insert(rankings).values(
            task_type=ranking.task_type, version=version, mode=ranking.mode, created_at=ranking.created_at,
            run_id=run_id, pinned=json.dumps(ranking.pinned), notes=json.dumps(ranking.notes)))
        ranking_id = res.inserted_primary_key[0]
        if ranking.targets:
            await conn.execute(sa.insert(ranking_entries),
                               [_entry_row(ranking_id, i, t) for i, t in enumerate(ranking.targets)])
        return ranking.model_copy(update={"version": version, "run_id": run_id})

    async def _load(self, conn: AsyncConnection, ids: Sequence[int]) -> list[Ranking]:
        if not ids:
            return []
        heads = (await conn.execute(sa.select(rankings).where(rankings.c.id.in_(ids)))).all()
        entries = (await conn.execute(sa.select(ranking_entries).where(ranking_entries.c.ranking_id.in_(ids))
                                      .order_by(ranking_entries.c.ranking_id, ranking_entries.c.position))).all()
        by_id: dict[int, list[RankedTarget]] = {}
        for e in entries:
            by_id.setdefault(e.ranking_id, []).append(_entry(e))
        out = {h.id: Ranking(task_type=h.task_type, version=h.version, mode=h.mode, created_at=h.created_at,
                             run_id=h.run_id, pinned=json.loads(h.pinned), notes=json.loads(h.notes),
                             targets=by_id.get(h.id, [])) for h in heads}
        return [out[i] for i in ids if i in out]

    async def head(self) -> int:
        """The id of the newest ranking of any task type (0 when there is none): the cache's check."""
        async with self._engine.connect() as conn:
            return (await conn.execute(sa.select(sa.func.max(rankings.c.id)))).scalar() or 0

    async def latest_all(self) -> dict[str, Ranking]:
        """The latest ranking of every task type."""
        newest = sa.select(sa.func.max(rankings.c.id)).group_by(rankings.c.task_type)
        async with self._engine.connect() as conn:
            ids = list((await conn.execute(newest)).scalars())
            return {r.task_type: r for r in await self._load(conn, ids)}

    async def history(self, task_type: str, limit: int = 2) -> list[Ranking]:
        """The last ``limit`` rankings of ``task_type``, newest first."""
        q = (sa.select(rankings.c.id).where(rankings.c.task_type == task_type)
             .order_by(rankings.c.version.desc()).limit(limit))
        async with self._engine.connect() as conn:
            ids = list((await conn.execute(q)).scalars())
            return await self._load(conn, ids)

    async def task_types(self) -> list[str]:
        """Task types with at least one ranking, sorted."""
        async with self._engine.connect() as conn:
            q = sa.select(rankings.c.task_type).distinct().order_by(rankings.c.task_type)
            return list((await conn.execute(q)).scalars())


class RankingCache:
    """The latest ranking per task type for planning (see module docstring); ``clock`` returns
    monotonic seconds."""

    def __init__(self, store: RankingStore, *, check_s: float = 2.0, clock=time.monotonic) -> None:
        self._store = store
        self._check_s = check_s
        self._clock = clock
        self._checked_at = float("-inf")
        self._head = -1
        self._latest: dict[str, Ranking] = {}

    async def current(self) -> dict[str, Ranking]:
        """Latest ranking by task type; at most one cheap head query per ``check_s``. When the
        database cannot be read, the rankings already cached are kept (planning must not fail
        because learning's storage does) and the read is tried again after ``check_s``."""
        now = self._clock()
        if now - self._checked_at >= self._check_s:
            self._checked_at = now
            try:
                head = await self._store.head()
                if head != self._head:
                    self._latest = await self._store.latest_all()
                    self._head = head
            except (SQLAlchemyError, OSError) as e:
                log.warning("rankings not refreshed, keeping %d cached: %s", len(self._latest), e)
        return self._latest
