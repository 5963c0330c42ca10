"""Eval cases, answer checks, the judge's score and drill verdicts (pure: ``core/eval_checks.py``,
``core/drill.py``)."""

from __future__ import annotations

import json

import pytest

from core.drill import Sample, TargetSummary, summarise, verdict
from core.drill_config import DrillConfig
from core.eval_checks import (
    CaseError,
    EvalCase,
    check_results,
    check_score,
    judge_prompt,
    parse_cases,
    parse_judge_score,
)
from simulator.judge import judge_reply


def test_parse_cases_names_the_line_and_field_of_bad_input() -> None:
    good = json.dumps({"prompt": "hi", "checks": {"contains": ["x"]}})
    cases = parse_cases(f"# comment\n\n{good}\n")
    assert cases[0].id == "case-3" and cases[0].has_checks()
    with pytest.raises(CaseError, match="line 2: not JSON"):
        parse_cases(f"{good}\n{{nope\n")
    with pytest.raises(CaseError, match=r"line 1: checks\.regex: .*not a regular expression"):
        parse_cases(json.dumps({"prompt": "hi", "checks": {"regex": "("}}))
    with pytest.raises(CaseError, match=r"line 1: checks\.contain: Extra inputs"):
        parse_cases(json.dumps({"prompt": "hi", "checks": {"contain": ["x"]}}))
    with pytest.raises(CaseError, match="no cases"):
        parse_cases("# nothing\n")


def test_each_check_counts_once_and_the_score_is_the_share_passed() -> None:
    case = EvalCase(prompt="p", expected="Refill shipped.", checks={
        "contains": ["refill", "NW-1"], "not_contains": ["sorry"], "regex": r"ship(ped)?", "min_chars": 5,
        "max_chars": 10})
    res = check_results(case, "Refill shipped.")
    assert res == {"expected": True, "contains:refill": True, "contains:NW-1": False, "not_contains:sorry": True,
                   "regex": True, "min_chars": True, "max_chars": False}
    assert check_score(case, "Refill shipped.") == pytest.approx(5 / 7)
    assert check_score(EvalCase(prompt="p"), "anything") is None


def test_json_keys_need_a_parsing_object_fenced_or_not() -> None:
    case = EvalCase(prompt="p", checks={"json_keys": ["order_id", "refund"]})
    assert check_score(case, '```json\n{"order_id": "A", "refund": 1}\n```') == 1.0
    assert check_results(case, '{"order_id": "A"}') == {"json": True, "json_key:order_id": True,
                                                        "json_key:refund": False}
    assert check_score(case, "[1, 2]") == 0.0 and check_score(case, '{"order_id": ') == 0.0


def test_case_request_shape() -> None:
    req = EvalCase.model_validate({"prompt": "p", "system": "s", "json": True, "max_tokens": 50}).request()
    assert [m.role for m in req.messages] == ["system", "user"] and req.max_tokens == 50 and req.wants_json()
    schema = EvalCase.model_validate({"prompt": "p", "schema": {"type": "object"}}).request()
    assert schema.response_format["type"] == "json_schema"


@pytest.mark.parametrize("reply, score", [("Score: 7\nGood.", 0.7), ("**Score:** 9/10", 0.9), ("score = 12", 1.0),
                                          ("The score is 3 out of 10", 0.3), ("I liked it", None), ("", None)])
def test_judge_score_parsing(reply: str, score: float | None) -> None:
    got = parse_judge_score(reply)
    assert got == (pytest.approx(score) if score is not None else None)


def test_simulated_judge_rewards_on_topic_answers() -> None:
    case = EvalCase(prompt="Where is my refill order for insulin pens?")
    on = judge_reply(judge_prompt(case, "Your refill order for insulin pens ships today.").messages[0].text())
    off = judge_reply(judge_prompt(case, "The weather in the mountains was lovely.").messages[0].text())
    assert parse_judge_score(on) == 1.0 and parse_judge_score(off) == 0.1
    assert judge_reply("Where is my refill?") is None


def _summary(target: str, role: str, score: float, ok: float = 1.0, p95: float | None = 500.0) -> TargetSummary:
    return TargetSummary(target=target, role=role, samples=10, answered=int(10 * ok), success_rate=ok,
                         mean_score=score, latency_p50_ms=p95, latency_p95_ms=p95)


def test_verdict_names_every_missed_threshold() -> None:
    t = DrillConfig()
    primary = _summary("p", "primary", 0.9)
    assert verdict(primary, _summary("b", "backup", 0.8, p95=1200.0), t).passed
    bad = verdict(primary, _summary("b", "backup", 0.5, ok=0.5, p95=2000.0), t)
    assert not bad.passed and len(bad.reasons) == 3
    assert bad.score_ratio == pytest.approx(0.5 / 0.9) and bad.latency_ratio == pytest.approx(4.0)
    # fast targets: 3x the primary's p95 but only 40 ms above it is not a failure (latency_slack_ms)
    assert verdict(_summary("p", "primary", 0.9, p95=20.0), _summary("b", "backup", 0.9, p95=60.0), t).passed
    # the primary scored nothing: the backup needs the absolute floor
    zero = _summary("p", "primary", 0.0)
    assert not verdict(zero, _summary("b", "backup", 0.3), t).passed
    assert verdict(zero, _summary("b", "backup", 0.6), t).passed


def test_summary_counts_failed_requests_as_zero_and_takes_latency_of_answers() -> None:
    samples = [Sample(target="t", case_id=str(i), workflow_id=f"w{i}", ok=True, latency_ms=100.0 * (i + 1),
                      chars=10, score=1.0, scored_by="checks") for i in range(3)]
    samples.append(Sample(target="t", case_id="x", workflow_id="wx", ok=False, error_class="ServerError"))
    s = summarise("t", "backup", samples)
    assert s.samples == 4 and s.answered == 3 and s.success_rate == 0.75 and s.mean_score == 0.75
    assert s.latency_p50_ms == 200.0 and s.format_ok == 1.0 and s.mean_chars == 10
