"""The chain walk: one decision per error class, no target visited twice, the caller's final error."""

from __future__ import annotations

from core.attempt import AttemptFailure
from core.plan import PlanInput, build_plan
from core.walk import ALL_TARGETS_FAILED, ChainWalk
from tests.configs import sim_config

CFG = sim_config("http://sim")
NOW = 1_000_000.0


def walk(route: str = "support_reply", **cfg_overrides) -> ChainWalk:
    return ChainWalk(build_plan(CFG, PlanInput(task_type=route), {}, NOW))


def fail(w: ChainWalk, entry, cls: str, **kw):
    return w.fail(entry, AttemptFailure(target=entry.target, error_class=cls, message=kw.pop("message", cls), **kw))


def test_failover_visits_each_target_once_then_all_failed_names_every_attempt() -> None:
    w = walk()
    seen = []
    while (e := w.next()) is not None:
        seen.append(e.target)
        assert fail(w, e, "ServerError", status=503) is None
    assert len(seen) == len(set(seen)) == 5
    stop = w.exhausted(NOW)
    assert stop.error_class == ALL_TARGETS_FAILED and stop.status == 503
    for t in seen:
        assert t in stop.message


def test_caller_error_stops_at_once() -> None:
    w = walk()
    e = w.next()
    stop = fail(w, e, "InvalidRequest", status=400, message="'messages' must not be empty")
    assert stop.error_class == "InvalidRequest" and stop.status == 400
    assert stop.message == "'messages' must not be empty"


def test_context_length_keeps_only_larger_windows() -> None:
    w = walk()
    first = w.next()  # gpt-4o@us-east, 128k
    assert fail(w, first, "ContextLengthExceeded") is None
    rest = []
    while (e := w.next()) is not None:
        rest.append((e.target, e.context_window))
        fail(w, e, "ServerError")
    assert rest and all(cw > 128000 for _, cw in rest)
    assert "openai/gpt-4o@eu-west" not in [t for t, _ in rest]


def test_context_length_with_no_larger_target_is_returned() -> None:
    w = walk("contract_clause_summary")
    w.next(), w.next()
    gemini = None
    while (e := w.next()) is not None:
        gemini = e
    stop = fail(w, gemini, "ContextLengthExceeded", message="input too long")
    assert stop is not None and stop.error_class == "ContextLengthExceeded" and stop.status == 400


def test_content_filter_without_fallback_returns_distinct_error() -> None:
    w = walk()
    stop = fail(w, w.next(), "ContentFiltered")
    assert stop.error_class == "ContentFiltered"


def test_content_filter_goes_to_the_routes_fallback_once() -> None:
    import yaml

    from tests.configs import sim_config_dict
    from worker.config_loader import parse_config
    data = sim_config_dict("http://sim")
    data["routes"]["support_reply"]["content_policy_fallback"] = ["openai/local-llama-3.1-8b@local"]
    cfg = parse_config(yaml.safe_dump(data))
    w = ChainWalk(build_plan(cfg, PlanInput(task_type="support_reply"), {}, NOW))
    assert fail(w, w.next(), "ContentFiltered") is None
    nxt = w.next()
    assert nxt.target == "openai/local-llama-3.1-8b@local"
    assert fail(w, nxt, "ContentFiltered").error_class == "ContentFiltered"


def test_all_rate_limited_gives_429_with_retry_after_at_earliest_cooldown_end() -> None:
    w = walk("contract_clause_summary")
    ends = [NOW + 40, NOW + 12, NOW + 90, NOW + 60]
    i = 0
    while (e := w.next()) is not None:
        fail(w, e, "RateLimited", status=429, cooldown_until=ends[i])
        i += 1
    stop = w.exhausted(NOW)
    assert stop.error_class == "RateLimited" and stop.status == 429
    assert stop.retry_after_s == 12


def test_deadline_stop_lists_attempts() -> None:
    w = walk()
    fail(w, w.next(), "Timeout")
    stop = w.deadline()
    assert stop.status == 504 and "openai/gpt-4o@us-east: Timeout" in stop.message


def test_max_tokens_beyond_every_context_window_is_the_callers_400_not_a_retryable_503() -> None:
    w = ChainWalk(build_plan(CFG, PlanInput(task_type="support_reply", output_cap=10**11), {}, NOW))
    assert w.next() is None
    stop = w.exhausted(NOW)
    assert stop.error_class == "ContextLengthExceeded" and stop.status == 400
    assert stop.retry_after_s is None
    assert "context window" in stop.message


def test_capability_no_target_has_is_an_unsupported_input_400() -> None:
    w = ChainWalk(build_plan(CFG, PlanInput(task_type="support_reply", required_capabilities=["telepathy"]), {}, NOW))
    stop = w.exhausted(NOW)
    assert stop.error_class == "UnsupportedInput" and stop.status == 400
    assert "lacks capability telepathy" in stop.message
