"""A route's fallback chain resolved to targets: entries to target groups, ``route:`` entries inlined.

The schema (``core/config.py``) holds chains as written (``openai/gpt-4o``, ``p/m@region``,
``route:other``); planning, learning, drills, shedding and the gateway's model map read them
through :func:`expand_chain`; the config checks (``core/config_checks.py``) reject a config whose
chain raises :class:`ChainError`.
"""

from __future__ import annotations

from core.config import SwitchyardConfig, TargetConfig


class ChainError(ValueError):
    """A route's chain cannot be expanded: a ``route:`` cycle or a target listed twice."""


def targets_for_entry(cfg: SwitchyardConfig, entry: str) -> list[TargetConfig]:
    """Targets one chain entry names, in config order: one for ``p/m@r``, all regions for ``p/m``."""
    if "@" in entry:
        return [t for t in cfg.targets if t.id == entry]
    return [t for t in cfg.targets if t.model_ref == entry]


def expand_chain(cfg: SwitchyardConfig, route: str, _stack: tuple[str, ...] = ()) -> list[list[TargetConfig]]:
    """The route's chain as groups of targets, one group per model entry, ``route:`` entries inlined.

    Raises :class:`ChainError` on a ``route:`` cycle (``a -> b -> a``) or when one target would be
    visited twice in one request (the chain never visits the same target twice).
    """
    if route in _stack:
        raise ChainError("route cycle: " + " -> ".join((*_stack, route)))
    groups: list[list[TargetConfig]] = []
    for entry in cfg.routes[route].chain:
        if entry.startswith("route:"):
            groups.extend(expand_chain(cfg, entry[6:], (*_stack, route)))
        else:
            groups.append(targets_for_entry(cfg, entry))
    ids = [t.id for g in groups for t in g]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ChainError(f"target(s) listed twice in one chain: {', '.join(dup)}")
    return groups


def routed_targets(cfg: SwitchyardConfig) -> set[str]:
    """Ids of the targets some route can send a request to (its chain or its content-policy
    fallback). A target outside this set gets no traffic, so it is not worth probing."""
    ids = {t.id for route in cfg.routes for group in expand_chain(cfg, route) for t in group}
    return ids | {t.id for r in cfg.routes.values() for e in r.content_policy_fallback
                  for t in targets_for_entry(cfg, e)}
