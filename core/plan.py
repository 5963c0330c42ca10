"""Planning: expand a route into the ordered list of targets one request will walk.

``build_plan`` is pure (the planning local activity feeds it the live config and cooldowns). Each
position carries its reasons, which the workflow records in history: chain position, region
distance from the request's origin, conversation pin; targets left out are listed with why
(missing capability, context window too small, cooling down).

Region rule: a chain entry ``provider/model`` naming a model deployed in several regions expands
to all of them, nearest to the request's origin first, before the next entry's model.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from core.cache import CacheHit, CachePolicy, CacheStatus
from core.canary import LiveDrill, apply_canary, apply_live_drill
from core.chains import expand_chain, targets_for_entry
from core.config import SwitchyardConfig, TargetConfig
from core.health.routing import apply_health
from core.health.view import TargetView
from core.learning.model import Ranking, RankingUse
from core.learning.reorder import learned_groups
from core.regions import region_distance


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanInput(_Model):
    """What planning needs to know about a request (of the messages, only the last question, for
    a route with a semantic cache).

    Token figures are estimates (``core/tokens.py``).
    """

    task_type: str | None = None
    tenant: str = "default"
    origin_region: str | None = None
    estimated_prompt_tokens: int = 0
    output_cap: int | None = None
    required_capabilities: list[str] = Field(default_factory=list)
    pinned_target: str | None = None
    prefer_cheaper: bool = False  # a soft budget limit is passed: cheapest healthy targets first
    # The response cache (core/cache.py): the request's digest (None: no cache, e.g. conversation
    # turns) and the caller's per-request policy (RequestInput.cache).
    cache_digest: str | None = None
    cache_policy: CachePolicy = "default"
    temperature: float | None = None  # the request's sampling temperature (non-deterministic above the route's max)
    # The semantic cache (core/semantic.py): the question's text and the digest of the rest of the
    # request (None: not cacheable or no question). The only message text planning sees; local
    # activity inputs are not written to history.
    semantic_question: str | None = None
    semantic_first_turn: bool = False  # the question is the request's only user message
    semantic_context: str | None = None
    # A drill or eval run: call only this target (config id), whatever its health or cooldown.
    force_target: str | None = None


class StaleLookup(_Model):
    """Input of the serve-stale activity: the entry key of a request whose chain failed."""

    route: str
    tenant: str
    key: str


class PlanEntry(_Model):
    """One target in the plan, with what the workflow needs to call it (no secrets).

    ``timeout_s``: the target's own timeout for one call; ``context_window`` in tokens.
    """

    target: str
    provider: str
    protocol: str
    model: str
    region: str
    timeout_s: float
    context_window: int
    reasons: list[str] = Field(default_factory=list)
    # Health at planning time (core/health/view.py): state, score 0-1, breaker state, traffic share.
    health: str = "healthy"
    score: float = 1.0
    breaker: str = "closed"
    share: float = 1.0


class Plan(_Model):
    """The ordered targets for one request and the route settings that govern the walk.

    ``cooldown_ends``: target -> unix time (s) its cooldown ends, for targets planning kept or
    skipped while cooling down (the caller's Retry-After when everything is rate limited).
    """

    route: str
    entries: list[PlanEntry]
    content_policy_entries: list[PlanEntry] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)
    retries: int = 1
    max_retry_wait_s: float = 5.0
    deadline_s: float = 120.0
    config_version: str = ""
    cooldown_ends: dict[str, float] = Field(default_factory=dict)
    rescue: str = "continue"  # the route's ``rescue`` mode (core/config.py RouteConfig)
    # The request's draw in [0, 1) compared with each target's traffic share (core/health/routing.py)
    # and whether the panic rule applied (every target degraded or down).
    health_draw: float | None = None
    health_panic: bool = False
    # The learned ranking this plan used (core/learning/reorder.py): version, applied or shadow,
    # the scores and shares that placed each target, the target drawn first.
    ranking: RankingUse | None = None
    # The response cache: ``cache_status`` hit | miss | bypass (None: the route has no cache);
    # ``cache_hit`` the answer when it is a hit (nothing else is walked); ``cache_key`` the entry key
    # the attempt stores a good answer under (None: do not store); ``stale_key`` the key the
    # serve-stale activity may read when the whole chain fails (None: no stale answer allowed).
    cache_status: CacheStatus | None = None
    cache_hit: CacheHit | None = None
    cache_key: str | None = None
    stale_key: str | None = None
    # Canary (core/canary.py): the first backup was put first for this request; ``forced``: the
    # target a drill or eval run forced (the plan holds only it).
    canary: bool = False
    forced: str | None = None
    live_drill: str | None = None  # the live drill (run id) that put its backup first
    # The gateway began the first target's first try before the workflow started and the first
    # attempt adopts it instead of calling (activities/head_start.py); False: the attempt calls.
    head_start: bool = False


class Cooldown(_Model):
    """A target skipped until ``until`` (unix seconds), and why (error class)."""

    target: str
    until: float
    reason: str


#: How each ``Plan.skipped`` reason starts: the request needs a capability the target lacks, the
#: target's context window is too small for it, or the target is cooling down (its own state).
SKIP_CAPABILITY = "lacks capability"
SKIP_CONTEXT = "context window"
SKIP_COOLDOWN = "cooling down"


class UnknownRoute(KeyError):
    """The request's task type names no route."""


class ForcedTargetUnfit(ValueError):
    """A drill or eval forced a target that is not configured or cannot take the request."""


#: The reason of a forced target's plan entry and of the targets it skips.
FORCED_REASON = "forced by a drill or eval run"


def _entry(t: TargetConfig, protocol: str, reasons: list[str]) -> PlanEntry:
    return PlanEntry(target=t.id, provider=t.provider, protocol=protocol, model=t.model, region=t.region,
                     timeout_s=t.timeout_s, context_window=t.context_window, reasons=reasons)


def _ordered_by_region(group: list[TargetConfig], origin: str) -> list[tuple[TargetConfig, float]]:
    with_km = [(t, region_distance(origin, t.region)) for t in group]
    return sorted(with_km, key=lambda tk: tk[1])  # stable: config order breaks ties


def _unfit_reason(cfg: SwitchyardConfig, t: TargetConfig, inp: PlanInput) -> str | None:
    missing = sorted(set(inp.required_capabilities) - set(t.capabilities))
    if missing:
        return f"{SKIP_CAPABILITY} {', '.join(missing)}"
    needed = inp.estimated_prompt_tokens + (inp.output_cap or 0)
    if needed > t.context_window:
        return f"{SKIP_CONTEXT} {t.context_window} < estimated prompt + max tokens {needed}"
    return None


def build_plan(cfg: SwitchyardConfig, inp: PlanInput, cooldowns: Mapping[str, Cooldown], now: float,
               config_version: str = "", health: Mapping[str, TargetView] | None = None,
               health_draw: float = 0.0, rankings: Mapping[str, Ranking] | None = None,
               ranking_draw: float = 0.0, canary_draw: float | None = None,
               live_drills: Mapping[str, list[LiveDrill]] | None = None) -> Plan:
    """Expand ``inp.task_type``'s route into a :class:`Plan`.

    ``cooldowns``: active cooldowns by target id; ``now``: unix seconds. A cooled-down target is
    skipped unless every fitting target is cooling down, in which case they are all kept, earliest
    cooldown end first (never leave a request with nothing to try). ``health``: target -> view
    (``core/health``); with it, each target keeps its position for ``health_draw < share`` and is
    otherwise moved behind healthier targets (``core/health/routing.py``). ``rankings``: task type
    -> latest learned ranking; the route's one orders the chain groups first, ``ranking_draw`` in
    [0, 1) picking the first group by share (``core/learning/reorder.py``), and cooldowns and
    health then override that order. ``canary_draw`` in [0, 1) (``core/canary.py``): below the
    route's ``canary.share`` the first backup goes first (not for pinned requests); below the
    share of one of the route's open live drills (``live_drills``: route -> windows) its backup
    does: overlapping windows take consecutive bands of the draw, so two drills never share a
    request. With
    ``inp.force_target`` the plan holds only that target. Raises :class:`UnknownRoute`, and
    :class:`ForcedTargetUnfit` for a forced target that is unknown or cannot take the request.
    """
    try:
        route_name, route = cfg.route(inp.task_type)
    except KeyError:
        raise UnknownRoute(inp.task_type) from None
    origin = inp.origin_region or cfg.defaults.origin_region
    fitting: list[PlanEntry] = []
    skipped: dict[str, str] = {}
    groups, learned, ranking_use = learned_groups(expand_chain(cfg, route_name), (rankings or {}).get(route_name),
                                                  ranking_draw, route.learn)
    for pos, group in enumerate(groups, start=1):
        for t, km in _ordered_by_region(group, origin):
            why = _unfit_reason(cfg, t, inp)
            if why:
                skipped[t.id] = why
                continue
            where = "same region" if km == 0 else f"{km:.0f} km from {origin}"
            reasons = [f"chain position {pos} ({t.model_ref})", f"region {t.region}: {where}", *learned.get(t.id, [])]
            fitting.append(_entry(t, cfg.providers[t.provider].protocol, reasons))
    active = {k: c for k, c in cooldowns.items() if c.until > now}
    entries = [e for e in fitting if e.target not in active]
    if not entries and fitting:
        entries = sorted(fitting, key=lambda e: active[e.target].until)
        for e in entries:
            e.reasons.append(f"every target cooling down; tried anyway ({active[e.target].reason})")
    for e in fitting:
        if e.target in active and e not in entries:
            c = active[e.target]
            skipped[e.target] = f"{SKIP_COOLDOWN} for {c.until - now:.1f} s after {c.reason}"
    if inp.force_target:
        return _forced_plan(cfg, inp, route_name, fitting, skipped, config_version)
    _pin_first(entries, inp.pinned_target)
    canary, drilled = _trial_order(entries, inp, route.canary.share, canary_draw,
                                   (live_drills or {}).get(route_name, []))
    panic = False
    if health:
        entries, panic = apply_health(entries, health, health_draw)
    if inp.prefer_cheaper or route.cost_aware_failover:
        entries = _cheaper_first(cfg, entries, inp, health or {}, backups_only=not inp.prefer_cheaper)
    cp = [_entry(t, cfg.providers[t.provider].protocol, ["content-policy fallback"])
          for entry in route.content_policy_fallback for t in targets_for_entry(cfg, entry)]
    return Plan(route=route_name, entries=entries, content_policy_entries=cp, skipped=skipped,
                retries=route.retries, max_retry_wait_s=route.max_retry_wait_s, deadline_s=route.deadline_s,
                config_version=config_version, rescue=route.rescue,
                cooldown_ends={k: c.until for k, c in active.items() if k in {e.target for e in fitting}},
                health_draw=health_draw if health else None, health_panic=panic, ranking=ranking_use,
                canary=canary, live_drill=drilled)


def _trial_order(entries: list[PlanEntry], inp: PlanInput, canary_share: float, draw: float | None,
                 drills: list[LiveDrill]) -> tuple[bool, str | None]:
    """Reorder ``entries`` for the live drill whose band holds ``draw`` (window i: from the sum of
    the earlier windows' shares, for its own share), else for the canary (``core/canary.py``);
    returns ``(canary, live drill run id)``. Pinned requests are left alone."""
    if draw is None or inp.pinned_target is not None:
        return False, None
    low = 0.0
    for drill in drills:
        if low <= draw < low + drill.share:
            return False, drill.run_id if apply_live_drill(entries, drill) else None
        low += drill.share
    return draw < canary_share and apply_canary(entries, canary_share), None


def _forced_plan(cfg: SwitchyardConfig, inp: PlanInput, route_name: str, fitting: list[PlanEntry],
                 skipped: dict[str, str], config_version: str) -> Plan:
    """The plan of a drill or eval request: the forced target alone (health and cooldowns do not
    apply; a target outside the route's chain, such as a judge, is allowed)."""
    forced = inp.force_target or ""
    entry = next((e for e in fitting if e.target == forced), None)
    if entry is None:
        try:
            t = cfg.target(forced)
        except KeyError:
            raise ForcedTargetUnfit(f"forced target {forced!r} is not configured") from None
        if forced in skipped or (why := _unfit_reason(cfg, t, inp)):
            raise ForcedTargetUnfit(f"forced target {forced!r} cannot take this request: "
                                    f"{skipped.get(forced) or why}")
        entry = _entry(t, cfg.providers[t.provider].protocol, ["not in the route's chain"])
    entry.reasons.insert(0, FORCED_REASON)
    skipped = {**skipped, **{e.target: f"{FORCED_REASON} to {forced}" for e in fitting if e.target != forced}}
    route = cfg.routes[route_name]
    return Plan(route=route_name, entries=[entry], skipped=skipped, retries=route.retries,
                max_retry_wait_s=route.max_retry_wait_s, deadline_s=route.deadline_s,
                config_version=config_version, rescue=route.rescue, forced=forced)


def _cheaper_first(cfg: SwitchyardConfig, entries: list[PlanEntry], inp: PlanInput,
                   health: Mapping[str, TargetView], *, backups_only: bool) -> list[PlanEntry]:
    """Stable sort by this request's estimated cost (prompt estimate + output cap at each target's
    price) within runs of the same health state; ``backups_only`` keeps the first entry first."""
    head, rest = (entries[:1], entries[1:]) if backups_only else ([], entries)
    out = 1024 if inp.output_cap is None else inp.output_cap

    def cost(e: PlanEntry) -> float:
        p = cfg.target(e.target).price
        return inp.estimated_prompt_tokens * p.input + out * p.output

    state = {"healthy": 0, "degraded": 1, "down": 2}
    ranked = sorted(rest, key=lambda e: (state.get(health[e.target].state, 0) if e.target in health else 0, cost(e)))
    for e in ranked:
        if ranked.index(e) != rest.index(e):
            e.reasons.append("cheaper first (soft budget)" if not backups_only else "cheaper backup first")
    return head + ranked


def _pin_first(entries: list[PlanEntry], pinned: str | None) -> None:
    for i, e in enumerate(entries):
        if e.target == pinned:
            entries.insert(0, entries.pop(i))
            e.reasons.insert(0, "conversation pinned to this target")
            return
