"""Canary traffic: a deterministic share of a route's live requests tries the first backup first.

A request is a canary when :func:`canary_draw` of its workflow id is below the route's
``canary.share`` (``core/drill_config.py``). The draw is a hash of the workflow id alone, so it is
the same on every replay and for every retry of the planning step, and a test can predict exactly
which requests are canaries. :func:`apply_canary` reorders a plan's entries: the first backup
moves to the front with the reason :data:`CANARY_REASON`; the primary stays second, so a broken
backup costs a canary request one failover, not an answer.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

CANARY_REASON = "canary"


def canary_draw(workflow_id: str) -> float:
    """A number in [0, 1), uniform over workflow ids: BLAKE2b-64 of the id / 2**64."""
    digest = hashlib.blake2b(f"canary/{workflow_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def is_canary(workflow_id: str, share: float) -> bool:
    """True when this request belongs to the canary ``share`` (0..1) of its route."""
    return share > 0 and canary_draw(workflow_id) < share


def apply_canary(entries: list, share: float) -> bool:
    """Move ``entries[1]`` (the first backup) to the front, in place, with a reason naming the
    share; returns whether it did (nothing to do with fewer than two entries)."""
    if len(entries) < 2:
        return False
    backup = entries.pop(1)
    backup.reasons.insert(0, f"{CANARY_REASON}: {share:.2%} of the route's requests try the first backup first")
    entries.insert(0, backup)
    return True


class LiveDrill(BaseModel):
    """An open live-traffic drill window (``switchyard drill --live-share``): from ``starts_at`` to
    ``ends_at`` (unix s), the requests of ``route`` whose :func:`canary_draw` is below ``share``
    put ``target`` first. ``run_id``: the drill workflow's id."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    route: str
    target: str
    share: float = Field(ge=0, le=1)
    starts_at: float
    ends_at: float


def apply_live_drill(entries: list, drill: LiveDrill) -> bool:
    """Move the drilled target to the front of ``entries``, in place, with a reason naming the
    drill; returns whether it did (not when the target is absent or already first)."""
    i = next((i for i, e in enumerate(entries) if e.target == drill.target), 0)
    if i == 0:
        return False
    entry = entries.pop(i)
    entry.reasons.insert(0, f"drill {drill.run_id}: {drill.share:.0%} of live requests try this backup first")
    entries.insert(0, entry)
    return True
