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
