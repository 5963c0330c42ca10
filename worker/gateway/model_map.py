"""Which route serves an OpenAI ``model`` value; the list ``GET /v1/models`` shows.

Accepted values, in this order of precedence:

1. ``switchyard/auto``, or no ``model`` at all: the config's default route;
2. a route name (``support_reply``), also as ``switchyard/support_reply``;
3. a target's model name (``gpt-4o``), ``provider/model`` (``openai/gpt-4o``) or target id
   (``openai/gpt-4o@us-east``): the route whose chain reaches that model **earliest** (smallest
   position in the expanded chain, so the route that tries it first wins); on a tie the default
   route, then the first such route in the config file. The route's chain then decides the
   target as for any request: the model field selects a route, it does not pin a target.

A model that no route's chain uses is not accepted (404 ``model_not_found``). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.chains import expand_chain
from core.config import SwitchyardConfig

AUTO = "switchyard/auto"
PREFIX = "switchyard/"


@dataclass(frozen=True)
class ModelEntry:
    """One accepted ``model`` value: ``owned_by`` is ``switchyard`` or the provider's name."""

    id: str
    route: str
    owned_by: str


@dataclass
class ModelMap:
    """Accepted model values -> route, for one config version (see module docstring)."""

    default_route: str
    entries: list[ModelEntry] = field(default_factory=list)
    _by_id: dict[str, str] = field(default_factory=dict)

    def route_for(self, model: str | None) -> str | None:
        """The route serving ``model``, or ``None`` when no route does."""
        if not model or model == AUTO:
            return self.default_route
        return self._by_id.get(model)


def build_model_map(cfg: SwitchyardConfig) -> ModelMap:
    """The :class:`ModelMap` of a validated config."""
    default = cfg.route(None)[0]
    mm = ModelMap(default_route=default)
    _add(mm, ModelEntry(AUTO, default, "switchyard"))
    for name in cfg.routes:
        _add(mm, ModelEntry(name, name, "switchyard"))
        _add(mm, ModelEntry(PREFIX + name, name, "switchyard"))
    best: dict[str, tuple[int, int, str, str]] = {}  # identifier -> (position, tie rank, route, provider)
    order = [default] + [r for r in cfg.routes if r != default]
    for rank, route in enumerate(order):
        targets = [t for group in expand_chain(cfg, route) for t in group]
        for pos, t in enumerate(targets):
            for ident in (t.model, t.model_ref, t.id):
                cand = (pos, rank, route, t.provider)
                if ident not in best or cand[:2] < best[ident][:2]:
                    best[ident] = cand
    for ident, (_, _, route, provider) in sorted(best.items(), key=lambda kv: (kv[0].count("/"), "@" in kv[0],
                                                                                 kv[0])):
        _add(mm, ModelEntry(ident, route, provider))
    return mm


def _add(mm: ModelMap, entry: ModelEntry) -> None:
    if entry.id in mm._by_id:  # a route name shadows a model of the same name (precedence 2 > 3)
        return
    mm._by_id[entry.id] = entry.route
    mm.entries.append(entry)
