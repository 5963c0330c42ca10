"""``examples/grafana-dashboard.json`` queries only metrics this project exports, with their labels."""

from __future__ import annotations

import json
import re

from prometheus_client.parser import text_string_to_metric_families

from activities import metrics
from activities.health.monitor import HealthMonitor
from activities.storage.outcomes import OutcomeRow
from core.request import RoutingTrace
from tests.configs import REPO, sim_config
from worker.config_loader import ConfigHolder
from worker.metrics_setup import scrape, setup_metrics, watch_health
from workflows import metrics as wf_metrics


def _exported() -> dict[str, set[str]]:
    setup_metrics()
    watch_health(HealthMonitor(ConfigHolder.fixed(sim_config("http://127.0.0.1:9"))))
    metrics.record_outcome(OutcomeRow(workflow_id="w", seq=1, try_no=1, target="t", provider="openai", model="m",
                                      region="r", task_type="route", tenant="x", status_class="ok", latency_ms=5,
                                      ttft_ms=1, prompt_tokens=1, completion_tokens=1, cost_usd=1e-6, created_at=0),
                           streamed=True)
    metrics.record_outcome(OutcomeRow(workflow_id="w", seq=2, try_no=1, target="t", provider="openai", model="m",
                                      region="r", task_type="route", tenant="x", status_class="ServerError",
                                      latency_ms=5, created_at=0))
    metrics.record_cache_lookup("route", "hit")
    metrics.record_shed("route", "overload", "low")
    metrics.record_batch_items(1, 1)
    metrics.record_rank_change("route")
    wf_metrics.record_request("route", "x", "ok", RoutingTrace(route="route", failovers=1,
                                                               failover_reasons={"ServerError": 1}, rescues=1))
    out: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(scrape()[0].decode()):
        for s in fam.samples:
            out.setdefault(s.name, set()).update(s.labels)
    return out


def test_every_query_names_an_exported_metric_and_label() -> None:
    exported = _exported()
    dash = json.loads((REPO / "examples" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 15
    for expr in exprs:
        names = set(re.findall(r"\b((?:switchyard|gen_ai)_[a-zA-Z0-9_]+)\b", expr))
        metric_names = {n for n in names if n in exported or n.endswith(("_bucket", "_total", "_sum", "_count"))}
        assert metric_names, expr
        for n in metric_names:
            assert n in exported, f"{n} (in {expr}) is not exported; exported: {sorted(exported)}"
        labels = set(re.findall(r"\b((?:switchyard|gen_ai|error)_[a-z_]+)\b\s*(?:[,)=!]|=~)", expr)) - set(exported)
        known = set().union(*exported.values()) | {"le"}
        assert labels <= known, (expr, labels - known)
