"""Cross-reference checks of a parsed config, the ones pydantic cannot do field by field:
unknown providers, duplicate target ids, chain entries that match no target, ``route:`` cycles,
pinned primaries, brownout routes, the semantic cache's embedding route, drill thresholds and
prompt templates. Pure (no I/O); ``worker/config_loader.py`` runs them on every load and reload.
"""

from __future__ import annotations

from pydantic import BaseModel

from core.chains import ChainError, expand_chain, targets_for_entry
from core.config import _NAME, RouteConfig, SwitchyardConfig
from core.drill_config import drill_problems
from core.prompt_variants import prompt_problems


class ConfigProblem(BaseModel):
    """One validation problem: ``path`` is dotted with ``[i]`` indexes, e.g. ``targets[3].provider``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate_config(cfg: SwitchyardConfig) -> list[ConfigProblem]:
    """Cross-reference checks pydantic cannot do field by field.

    Returns every problem (empty list when the config is sound): unknown providers, duplicate
    target ids, chain entries that match no target, repeated entries and ``route:`` cycles.
    """
    problems: list[ConfigProblem] = []
    for name in cfg.providers:
        if not _NAME.match(name) or "/" in name or "@" in name:
            problems.append(ConfigProblem(path=f"providers.{name}", message="invalid provider name"))
    seen: set[str] = set()
    for i, t in enumerate(cfg.targets):
        if t.provider not in cfg.providers:
            problems.append(ConfigProblem(path=f"targets[{i}].provider",
                                          message=f"unknown provider {t.provider!r}"))
        if t.id in seen:
            problems.append(ConfigProblem(path=f"targets[{i}]", message=f"duplicate target id {t.id!r}"))
        seen.add(t.id)
    for rname, route in cfg.routes.items():
        for j, entry in enumerate(route.chain):
            problems.extend(_check_entry(cfg, f"routes.{rname}.chain[{j}]", entry))
        for j, entry in enumerate(route.content_policy_fallback):
            problems.extend(_check_entry(cfg, f"routes.{rname}.content_policy_fallback[{j}]", entry))
        try:
            expand_chain(cfg, rname)
        except ChainError as e:
            problems.append(ConfigProblem(path=f"routes.{rname}.chain", message=str(e)))
        if route.objective.pinned_primary and not targets_for_entry(cfg, route.objective.pinned_primary):
            problems.append(ConfigProblem(path=f"routes.{rname}.objective.pinned_primary",
                                          message=f"no target matches {route.objective.pinned_primary!r}"))
        problems.extend(_check_overload(cfg, rname, route))
        problems.extend(_check_semantic(cfg, rname, route))
        problems += [ConfigProblem(path=p, message=m) for p, m in drill_problems(rname, route.drill, seen)]
        problems += [ConfigProblem(path=p, message=m) for p, m in prompt_problems(cfg, rname, route.prompts)]
    if cfg.default_route is not None and cfg.default_route not in cfg.routes:
        problems.append(ConfigProblem(path="default_route", message=f"unknown route {cfg.default_route!r}"))
    return problems


def _check_overload(cfg: SwitchyardConfig, rname: str, route: RouteConfig) -> list[ConfigProblem]:
    brownout = route.overload.brownout_route if route.overload else None
    if brownout is None:
        return []
    path = f"routes.{rname}.overload.brownout_route"
    if brownout not in cfg.routes:
        return [ConfigProblem(path=path, message=f"unknown route {brownout!r}")]
    if brownout == rname:
        return [ConfigProblem(path=path, message="a route cannot brown out to itself")]
    return []


def _check_semantic(cfg: SwitchyardConfig, rname: str, route: RouteConfig) -> list[ConfigProblem]:
    embed_with = route.cache.semantic.embed_with if route.cache.semantic else "local"
    if embed_with == "local" or route.cache.mode != "semantic":
        return []
    path = f"routes.{rname}.cache.semantic.embed_with"
    if embed_with not in cfg.routes:
        return [ConfigProblem(path=path, message=f"unknown route {embed_with!r} (or 'local')")]
    try:
        groups = expand_chain(cfg, embed_with)
    except ChainError:
        return []  # reported on that route's own chain
    if not any("embeddings" in t.capabilities for g in groups for t in g):
        return [ConfigProblem(path=path, message=f"route {embed_with!r} has no target with the embeddings capability")]
    return []


def _check_entry(cfg: SwitchyardConfig, path: str, entry: str) -> list[ConfigProblem]:
    if entry.startswith("route:"):
        if entry[6:] not in cfg.routes:
            return [ConfigProblem(path=path, message=f"unknown route {entry[6:]!r}")]
        return []
    if not targets_for_entry(cfg, entry):
        return [ConfigProblem(path=path, message=f"no target matches {entry!r} "
                              "(expected provider/model or provider/model@region)")]
    return []
