"""What changed between two rankings of one task type (for ``switchyard rankings`` and logs)."""

from __future__ import annotations

from core.learning.model import Ranking

#: Score and share changes smaller than this are not reported (scores and shares are 0..1).
MIN_CHANGE = 0.01


def changes(current: Ranking, previous: Ranking | None) -> list[str]:
    """Human-readable changes from ``previous`` to ``current``, most important first: leader,
    ranks, targets entering or leaving the ranking, then score and share moves >= MIN_CHANGE."""
    if previous is None:
        return [f"first ranking (v{current.version}); leader {current.leader() or '-'}"]
    out: list[str] = []
    if current.leader() != previous.leader():
        out.append(f"leader: {previous.leader() or '-'} -> {current.leader() or '-'}")
    before = {t.target: t for t in previous.targets}
    for t in current.targets:
        old = before.get(t.target)
        if old is None:
            out.append(f"{t.target}: new in the ranking (rank {t.rank or '-'})")
            continue
        if old.rank != t.rank:
            out.append(f"{t.target}: rank {old.rank or '-'} -> {t.rank or '-'}" + (f" ({t.why})" if not t.rank else ""))
        if t.score is not None and old.score is not None and abs(t.score - old.score) >= MIN_CHANGE:
            out.append(f"{t.target}: score {old.score:.3f} -> {t.score:.3f}")
        if abs(t.share - old.share) >= MIN_CHANGE:
            out.append(f"{t.target}: share {old.share:.3f} -> {t.share:.3f}")
    now = {t.target for t in current.targets}
    out += [f"{name}: no longer in the ranking" for name in before if name not in now]
    if current.mode != previous.mode:
        out.append(f"mode: {previous.mode} -> {current.mode}")
    return out
