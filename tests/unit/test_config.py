"""Config validation: every bad field is reported with its path; cycles are rejected."""

from __future__ import annotations

import pytest
import yaml

from tests.configs import sim_config_dict
from worker.config_loader import ConfigError, ConfigHolder, parse_config


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_config(yaml.safe_dump(data), "t.yaml")
    return e.value.problems


def test_shipped_examples_are_valid() -> None:
    from tests.configs import REPO
    from worker.config_loader import load_config
    for name in ("simulated.yaml", "switchyard.yaml"):
        assert load_config(REPO / "examples" / name).routes


def test_field_error_names_the_path() -> None:
    data = sim_config_dict("http://x")
    data["targets"][2]["timeout_s"] = -3
    assert problems(data) == ["targets[2].timeout_s: Input should be greater than 0"]


def test_unknown_chain_entry_and_provider() -> None:
    data = sim_config_dict("http://x")
    data["routes"]["support_reply"]["chain"][1] = "anthropic/claude-9"
    data["targets"][0]["provider"] = "nobody"
    found = problems(data)
    assert "targets[0].provider: unknown provider 'nobody'" in found
    assert any(p.startswith("routes.support_reply.chain[1]: no target matches 'anthropic/claude-9'") for p in found)


def test_route_cycle_and_repeated_target_are_rejected() -> None:
    data = sim_config_dict("http://x")
    data["routes"]["a"] = {"chain": ["route:b"]}
    data["routes"]["b"] = {"chain": ["openai/gpt-4o", "route:a"]}
    assert any("route cycle: a -> b -> a" in p for p in problems(data))
    data = sim_config_dict("http://x")
    data["routes"]["support_reply"]["chain"].append("openai/gpt-4o@us-east")
    assert any("listed twice" in p and "openai/gpt-4o@us-east" in p for p in problems(data))


def test_yaml_syntax_error() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config("routes: {}\nproviders: [unclosed", "bad.yaml")
    assert e.value.problems[0].startswith("(yaml) line 2, column ")
    assert "<unicode string>" not in str(e.value) and "bad.yaml" in str(e.value)


def test_reload_keeps_running_config_when_the_new_file_is_bad(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(sim_config_dict("http://x")))
    holder = ConfigHolder(path, check_every_s=0)
    _, v1 = holder.current()
    path.write_text("routes: {}\n")
    import os
    os.utime(path, (1, 1))
    cfg, v2 = holder.current()
    assert v2 == v1 and "support_reply" in cfg.routes
    assert holder.last_error is not None and "providers" in str(holder.last_error)
    good = sim_config_dict("http://x")
    good["routes"]["extra"] = {"chain": ["gemini/gemini-2.0-flash"]}
    path.write_text(yaml.safe_dump(good))
    os.utime(path, (2, 2))
    cfg, v3 = holder.current()
    assert v3 != v1 and "extra" in cfg.routes and holder.last_error is None


def test_routed_targets_are_the_chains_and_content_policy_fallbacks_only() -> None:
    from core.chains import routed_targets
    from core.config import SwitchyardConfig
    data = sim_config_dict("http://sim")
    cfg = SwitchyardConfig.model_validate(data)
    routed = routed_targets(cfg)
    assert "anthropic/claude-sonnet-4@us-east" not in routed  # listed as a target, named by no route
    assert {"openai/gpt-4o@us-east", "openai/gpt-4o@eu-west", "gemini/gemini-2.0-flash@us-central"} <= routed
    data["routes"]["support_reply"]["content_policy_fallback"] = ["anthropic/claude-sonnet-4"]
    assert "anthropic/claude-sonnet-4@us-east" in routed_targets(SwitchyardConfig.model_validate(data))


def test_admission_and_overload_errors_name_their_paths() -> None:
    data = sim_config_dict("http://127.0.0.1:1")
    data["routes"]["support_reply"]["overload"] = {"max_in_flight": 10, "brownout_route": "nope"}
    data["routes"]["json_extraction"]["overload"] = {"max_in_flight": 10, "brownout_route": "json_extraction"}
    found = problems(data)
    assert "routes.support_reply.overload.brownout_route: unknown route 'nope'" in found
    assert "routes.json_extraction.overload.brownout_route: a route cannot brown out to itself" in found
    bad = sim_config_dict("http://127.0.0.1:1", admission={"per_tenant": {"requests_per_min": -1}},
                          concurrency={"mode": "gradient"})
    found = problems(bad)
    assert any(p.startswith("admission.per_tenant.requests_per_min") for p in found), found
    assert any(p.startswith("concurrency.mode") for p in found), found
    ok = sim_config_dict("http://127.0.0.1:1", admission={"store": False}, concurrency={"mode": False})
    cfg = parse_config(yaml.safe_dump(ok), "t.yaml")  # YAML's bare `off` reads as false
    assert (cfg.admission.store, cfg.concurrency.mode) == ("off", "off")
