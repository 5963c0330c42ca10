"""Alert rules without fatigue: thresholds over two windows, volume guards, hysteresis, durations.

Six rules, the guide's conditions, each evaluated per subject (a target or a route) from windowed
statistics (:class:`WindowStats`, read from the outcome rows by ``activities/alerts/``):

=================  ========  ==============================================  ======================
rule               subject   value                                            default fire / clear
=================  ========  ==============================================  ======================
error_rate         target    failures counting against health / calls         > 5% / < 2%
latency_spike      target    p95 latency of answers / target's baseline p50   > 3x / < 2x
failover           route     requests that failed over / requests             > 10% / < 5%
cache_hit_drop     route     hit rate / hit rate of the baseline window       < 0.5x / > 0.75x
cost_per_request   route     USD per request / baseline window's              > 1.5x / < 1.2x
quality            target    answers with quality flags / answers             > 5% / < 2%
=================  ========  ==============================================  ======================

Against fatigue (sources in ``shared/RESILIENCE.md`` section 6.5):

- **two windows, both over the threshold** (the SRE Workbook's multi-window alert [S17], scaled
  down like the failover detectors): a long window (default 300 s) carries the significance, a
  short one (60 s) makes the alert follow the present and reset quickly;
- **minimum volume** (``min_samples``, default 20 as Hystrix's request volume threshold): a window
  with fewer samples never fires;
- **hysteresis**: firing stops only below the lower ``clear`` threshold, so a value hovering at the
  threshold does not flap;
- **health as evidence**: once the health layer has a target down or its breaker open, planning
  stops calling it and its error rate can no longer be measured; ``error_rate`` treats that state
  as over the threshold until the health layer closes the breaker again;
- **durations**: the condition must hold ``for_s`` (default 30 s, Prometheus' ``for``) before it
  fires and the clear condition ``resolve_after_s`` (60 s) before it resolves.

The latency baseline is the health layer's self-baseline p50 (``TargetView.baseline_p50_ms``, frozen
while the target is flagged, R4), else the p50 of the baseline window; ratio rules with a baseline
compare with the window of ``baseline_s`` (default 1 h) before the long window. Pure: the evaluator passes ``now``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RuleKind = Literal["error_rate", "latency_spike", "failover", "cache_hit_drop", "cost_per_request", "quality"]
TARGET_RULES = ("error_rate", "latency_spike", "quality")
#: rules whose value falls when things go wrong (fire below the threshold)
FALLING = ("cache_hit_drop",)


class AlertRule(BaseModel):
    """One rule. ``threshold``/``clear``: fire above ``threshold`` and clear below ``clear`` (the
    other way round for ``cache_hit_drop``); windows and durations in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RuleKind
    threshold: float
    clear: float
    long_window_s: float = Field(default=300.0, gt=0)
    short_window_s: float = Field(default=60.0, gt=0)
    baseline_s: float = Field(default=3600.0, gt=0)
    min_samples: int = Field(default=20, ge=1)
    for_s: float = Field(default=30.0, ge=0)
    resolve_after_s: float = Field(default=60.0, ge=0)
    enabled: bool = True

    def scaled(self, factor: float) -> AlertRule:
        """The rule with every window and duration divided by ``factor`` (compressed scenarios)."""
        return self.model_copy(update={k: getattr(self, k) / factor for k in (
            "long_window_s", "short_window_s", "baseline_s", "for_s", "resolve_after_s")})


DEFAULT_RULES: dict[str, AlertRule] = {
    "error_rate": AlertRule(kind="error_rate", threshold=0.05, clear=0.02),
    "latency_spike": AlertRule(kind="latency_spike", threshold=3.0, clear=2.0, min_samples=10),
    "failover": AlertRule(kind="failover", threshold=0.10, clear=0.05),
    "cache_hit_drop": AlertRule(kind="cache_hit_drop", threshold=0.5, clear=0.75, min_samples=50),
    "cost_per_request": AlertRule(kind="cost_per_request", threshold=1.5, clear=1.2, long_window_s=900.0,
                                  short_window_s=300.0),
    "quality": AlertRule(kind="quality", threshold=0.05, clear=0.02),
}


class WindowStats(BaseModel):
    """Counts of one subject over one window. Latencies in ms, cost in USD."""

    calls: int = 0
    failures: int = 0          # calls whose outcome counts against the target's health
    answers: int = 0           # successful calls
    checked: int = 0           # calls whose answer went through the quality checks (a 200 body)
    flagged: int = 0           # of those, answers with quality flags (returned, or failed over for them)
    p50_ms: float | None = None
    p95_ms: float | None = None
    requests: int = 0
    failed_over: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0


class Signal(BaseModel):
    """What the evaluator knows of one subject at ``now``: both windows, the baseline window and the
    latency baseline (ms, the health view's)."""

    long: WindowStats
    short: WindowStats
    baseline: WindowStats = Field(default_factory=WindowStats)
    baseline_p50_ms: float | None = None
    down: bool = False  # the health layer has the target down or its breaker open (error_rate only)


def value(kind: str, w: WindowStats, s: Signal) -> tuple[float | None, int]:
    """``(value, samples)`` of rule ``kind`` on window ``w`` (``None``: not computable)."""
    if kind == "error_rate":
        return (w.failures / w.calls if w.calls else None), w.calls
    if kind == "quality":
        return (w.flagged / w.checked if w.checked else None), w.checked
    if kind == "latency_spike":
        base = s.baseline_p50_ms or s.baseline.p50_ms
        if w.p95_ms is None or not base:
            return None, w.answers
        return w.p95_ms / base, w.answers
    if kind == "failover":
        return (w.failed_over / w.requests if w.requests else None), w.requests
    if kind == "cache_hit_drop":
        base = s.baseline.cache_hits / s.baseline.requests if s.baseline.requests else 0.0
        if base < 0.10 or s.baseline.requests < 20 or not w.requests:  # no meaningful hit rate to drop from
            return None, w.requests
        return (w.cache_hits / w.requests) / base, w.requests
    if kind == "cost_per_request":
        if not s.baseline.requests or not s.baseline.cost_usd or not w.requests:
            return None, w.requests
        return (w.cost_usd / w.requests) / (s.baseline.cost_usd / s.baseline.requests), w.requests
    raise ValueError(f"unknown alert rule kind {kind!r}")


def _over(rule: AlertRule, v: float, limit: float) -> bool:
    return v < limit if rule.kind in FALLING else v > limit


def condition(rule: AlertRule, s: Signal) -> tuple[bool, bool, float | None]:
    """``(firing condition, clear condition, short-window value)``: firing needs both windows over
    ``threshold`` with ``min_samples`` each; clear needs the short window past ``clear`` (or too
    little traffic to tell: a target nobody calls any more is not an ongoing problem)."""
    lv, ln = value(rule.kind, s.long, s)
    sv, sn = value(rule.kind, s.short, s)
    if rule.kind == "error_rate" and s.down:  # planning skips it, so its calls stop: health is the evidence
        return True, False, 1.0 if sv is None else sv
    fire = (lv is not None and sv is not None and ln >= rule.min_samples and sn >= min(rule.min_samples, 5)
            and _over(rule, lv, rule.threshold) and _over(rule, sv, rule.threshold))
    clear = sv is None or sn < min(rule.min_samples, 5) or not _over(rule, sv, rule.clear)
    return fire, clear, sv


class AlertState(BaseModel):
    """One (rule, subject)'s state: ``ok``, ``pending`` (condition true since ``since``),
    ``firing`` or ``clearing`` (clear condition true since ``since``, still firing). Times unix s."""

    rule: str
    subject: str
    state: Literal["ok", "pending", "firing", "clearing"] = "ok"
    since: float = 0.0
    fired_at: float | None = None


class AlertEvent(BaseModel):
    """A firing or resolved transition, as stored, logged and sent to the webhook."""

    rule: str
    kind: str
    subject: str
    status: Literal["firing", "resolved"]
    value: float | None
    threshold: float
    at: float
    fired_at: float
    message: str


def step(rule_name: str, rule: AlertRule, st: AlertState, s: Signal, now: float) -> tuple[AlertState,
                                                                                      AlertEvent | None]:
    """Advance one (rule, subject) state machine to ``now``; returns the new state and the event
    it produced, if any (see module docstring for the durations and hysteresis)."""
    fire, clear, v = condition(rule, s)
    st = st.model_copy()
    if st.state in ("ok", "pending"):
        if not fire:
            st.state, st.since = "ok", now
            return st, None
        if st.state == "ok":
            st.state, st.since = "pending", now
        if now - st.since < rule.for_s:
            return st, None
        st.state, st.since, st.fired_at = "firing", now, now
        return st, _event(rule_name, rule, st, "firing", v, now)
    if not clear:  # firing, or clearing that relapsed
        st.state = "firing"
        return st, None
    if st.state == "firing":
        st.state, st.since = "clearing", now
    if now - st.since < rule.resolve_after_s:
        return st, None
    event = _event(rule_name, rule, st, "resolved", v, now)
    st.state, st.since, st.fired_at = "ok", now, None
    return st, event


_WHAT = {"error_rate": "error rate", "latency_spike": "p95 latency / baseline p50", "failover": "failover share",
         "cache_hit_drop": "cache hit rate / baseline", "cost_per_request": "cost per request / baseline",
         "quality": "flagged answer share"}


def _event(name: str, rule: AlertRule, st: AlertState, status: Literal["firing", "resolved"], v: float | None,
           now: float) -> AlertEvent:
    shown = "n/a" if v is None else (f"{v:.1%}" if rule.kind in ("error_rate", "failover", "quality")
                                     else f"{v:.2f}x")
    limit = (f"{rule.threshold:.1%}" if rule.kind in ("error_rate", "failover", "quality")
             else f"{rule.threshold:.2f}x")
    verb = "below" if rule.kind in FALLING else "above"
    text = (f"{_WHAT[rule.kind]} of {st.subject} is {shown}, {verb} {limit}" if status == "firing"
            else f"{_WHAT[rule.kind]} of {st.subject} is back to {shown} (fired {now - (st.fired_at or now):.0f} s)")
    return AlertEvent(rule=name, kind=rule.kind, subject=st.subject, status=status, value=v,
                      threshold=rule.threshold, at=now, fired_at=st.fired_at or now, message=text)
