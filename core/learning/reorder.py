"""A ranking applied to a route's chain at planning time (pure; called by ``core.plan.build_plan``).

The chain is a list of **groups**, one per model entry, each holding that model's regions
(``core.chains.expand_chain``). Learning ranks targets; planning orders groups:

- groups holding a ranked target come first, by their best rank;
- the **first** group is drawn by the request's ``draw`` (uniform in [0, 1)) over the groups'
  summed shares, so the leader gets most first positions and the others their exploration share
  (Thompson sampling at batch level: each request plays one posterior draw's winner);
- groups without a ranked target (failing a hard constraint, or added to the config after the
  ranking was computed) follow in configured order, as last-resort fallbacks.

Inside a group, regions keep their distance order (learning picks the model, distance the region).
Health still overrides: cooldowns and health states are applied to the reordered list afterwards.
A ``shadow`` ranking changes nothing; the plan only records what it would have used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config import TargetConfig
from core.learning.model import RankedTarget, Ranking, RankingUse


@dataclass
class LearnedOrder:
    """Reordered groups, extra plan reasons per target id, and the plan's record of the ranking."""

    groups: list[list[TargetConfig]]
    use: RankingUse
    reasons: dict[str, list[str]] = field(default_factory=dict)


def _use(ranking: Ranking, applied: bool) -> RankingUse:
    ranked = ranking.ranked()
    return RankingUse(task_type=ranking.task_type, version=ranking.version, mode=ranking.mode, applied=applied,
                      scores={t.target: t.score for t in ranked}, shares={t.target: t.share for t in ranked})


def shadow_use(ranking: Ranking) -> RankingUse:
    """The record of a ranking that is shown but not applied (``learn: shadow``)."""
    use = _use(ranking, applied=False)
    use.first = ranking.leader()
    return use


def _pick(ranked: list[tuple[int, list[TargetConfig], float]], draw: float) -> int:
    total = sum(share for _, _, share in ranked)
    if total <= 0:
        return 0
    acc = 0.0
    for i, (_, _, share) in enumerate(ranked):
        acc += share / total
        if draw < acc:
            return i
    return len(ranked) - 1


def apply_ranking(groups: list[list[TargetConfig]], ranking: Ranking, draw: float) -> LearnedOrder:
    """Order ``groups`` by ``ranking`` (see module docstring); ``draw`` in [0, 1) picks the first."""
    entries: dict[str, RankedTarget] = {t.target: t for t in ranking.targets}
    n_ranked = len(ranking.ranked())
    ranked: list[tuple[int, list[TargetConfig], float]] = []
    unranked: list[list[TargetConfig]] = []
    for group in groups:
        ranks = [entries[t.id].rank for t in group if t.id in entries and entries[t.id].rank > 0]
        if ranks:
            ranked.append((min(ranks), group, sum(entries[t.id].share for t in group if t.id in entries)))
        else:
            unranked.append(group)
    ranked.sort(key=lambda rg: rg[0])
    first = _pick(ranked, draw)
    if ranked:
        ranked.insert(0, ranked.pop(first))
    use = _use(ranking, applied=True)
    reasons: dict[str, list[str]] = {}
    v = f"ranking v{ranking.version}"
    for _, group, _ in ranked:
        for t in group:
            e = entries.get(t.id)
            if e is None or e.rank == 0:
                reasons[t.id] = [f"not ranked in {v}: {e.why if e else 'not in the ranking'}"]
                continue
            reasons[t.id] = [f"learned rank {e.rank} of {n_ranked} ({v}: score {_fmt(e.score)}, "
                             f"share {e.share:.3f})"]
    if ranked:
        best = min((entries[t.id] for t in ranked[0][1] if t.id in entries and entries[t.id].rank > 0),
                   key=lambda e: e.rank)
        use.first, use.explored = best.target, first != 0
        if first != 0:
            for t in ranked[0][1]:
                reasons.setdefault(t.id, []).append(f"explored: drawn first ({v}, group share {ranked[0][2]:.3f})")
    for group in unranked:
        for t in group:
            e = entries.get(t.id)
            reasons[t.id] = [f"last-resort fallback, not ranked in {v}: {e.why if e else 'not in the ranking'}"]
    return LearnedOrder(groups=[g for _, g, _ in ranked] + unranked, use=use, reasons=reasons)


def _fmt(score: float | None) -> str:
    return "-" if score is None else f"{score:.3f}"


def learned_groups(groups: list[list[TargetConfig]], ranking: Ranking | None, draw: float, learn: str = "on"
                   ) -> tuple[list[list[TargetConfig]], dict[str, list[str]], RankingUse | None]:
    """``(groups, reasons by target, record)`` for ``build_plan``: ``groups`` unchanged without a
    ranking or when the route's ``learn`` is now ``off``; recorded as not applied when the route
    or the ranking is ``shadow`` (the live config wins over the mode the ranking was written
    with); else :func:`apply_ranking`."""
    if ranking is None or learn == "off":
        return groups, {}, None
    if ranking.mode != "on" or learn != "on":
        return groups, {}, shadow_use(ranking)
    order = apply_ranking(groups, ranking, draw)
    return order.groups, order.reasons, order.use
