"""What a drill or eval run resolves to from the config (``activities/drill.py`` :func:`trial_spec`)."""

from __future__ import annotations

import pytest
import yaml

from activities.drill import TrialError, trial_spec
from core.drill import BUILTIN_CASES, TrialInput
from core.eval_checks import EvalCase
from tests.configs import sim_config, sim_config_dict
from worker.config_loader import ConfigError, parse_config

PRIMARY, EU, LOCAL = "openai/gpt-4o@us-east", "openai/gpt-4o@eu-west", "openai/local-llama-3.1-8b@local"
CFG = sim_config("http://sim")


def test_drill_runs_the_primary_then_each_backup_on_count_builtin_cases() -> None:
    spec = trial_spec(CFG, TrialInput(route="support_reply"))
    assert spec.targets[0] == PRIMARY == spec.primary and spec.targets[1] == EU and len(spec.targets) == 5
    assert [c.id for c in spec.cases] == [c.id for c in BUILTIN_CASES[:5]] and spec.live_share is None
    assert trial_spec(CFG, TrialInput(route="support_reply", targets=[LOCAL])).targets == [PRIMARY, LOCAL]
    many = trial_spec(CFG, TrialInput(route="support_reply", count=8)).cases
    assert [c.id for c in many][6:] == ["sample-1-r2", "sample-2-r2"]


def test_eval_runs_the_whole_chain_on_every_case() -> None:
    cases = [EvalCase(id="a", prompt="x"), EvalCase(id="b", prompt="y")]
    spec = trial_spec(CFG, TrialInput(route="contract_clause_summary", kind="eval", cases=cases))
    assert len(spec.targets) == 4 and [c.id for c in spec.cases] == ["a", "b"]


def test_bad_input_is_named() -> None:
    with pytest.raises(TrialError, match="unknown route 'nope'"):
        trial_spec(CFG, TrialInput(route="nope"))
    with pytest.raises(TrialError, match="not a backup"):
        trial_spec(CFG, TrialInput(route="support_reply", targets=[PRIMARY]))
    with pytest.raises(TrialError, match="unknown target"):
        trial_spec(CFG, TrialInput(route="support_reply", targets=["x/y@z"]))
    with pytest.raises(TrialError, match="used twice: a"):
        trial_spec(CFG, TrialInput(route="support_reply", cases=[EvalCase(id="a", prompt="x")] * 2))
    with pytest.raises(TrialError, match="unknown judge target"):
        trial_spec(CFG, TrialInput(route="support_reply", judge_target="x/y@z"))
    with pytest.raises(TrialError, match="cannot read"):
        data = sim_config_dict("http://sim")
        data["routes"]["support_reply"]["drill"] = {"prompts": "/nonexistent/cases.jsonl"}
        trial_spec(parse_config(yaml.safe_dump(data), "t"), TrialInput(route="support_reply"))


def test_live_share_from_the_route_unless_the_input_says_otherwise() -> None:
    data = sim_config_dict("http://sim")
    data["routes"]["support_reply"]["drill"] = {"live_share": 0.05, "live_seconds": 120}
    cfg = parse_config(yaml.safe_dump(data), "live")
    live = trial_spec(cfg, TrialInput(route="support_reply"))
    assert live.live_share == 0.05 and live.live_s == 120 and live.cases == []
    synthetic = trial_spec(cfg, TrialInput(route="support_reply", live_share=0))
    assert synthetic.live_share is None and synthetic.cases
    assert trial_spec(cfg, TrialInput(route="support_reply", kind="eval")).live_share is None


def test_config_names_a_bad_drill_or_canary_field() -> None:
    data = sim_config_dict("http://sim")
    data["routes"]["support_reply"]["drill"] = {"judge_target": "openai/nope@x"}
    with pytest.raises(ConfigError, match=r"routes\.support_reply\.drill\.judge_target: unknown target"):
        parse_config(yaml.safe_dump(data), "t")
    data = sim_config_dict("http://sim")
    data["routes"]["support_reply"]["canary"] = {"share": 0.9}
    with pytest.raises(ConfigError, match=r"routes\.support_reply\.canary\.share"):
        parse_config(yaml.safe_dump(data), "t")
