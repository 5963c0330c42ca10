"""The gateway's /metrics after a simulated outage of the primary: provider calls by target and
error class, failovers by reason, latency histograms, health state, tokens and cost, with the
GenAI semantic-convention names, and bounded labels."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.conftest import PRIMARY, SECOND, chat, gateway_under_test


def _samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


def _value(samples: dict[str, list], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


async def test_metrics_after_an_outage_of_the_primary(temporal_env, db_url, sim) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url) as gut:
        before = _samples((await gut.http.get("/metrics")).text)
        await gut.fault(PRIMARY, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
        failovers = 0
        for i in range(3):
            r = await gut.http.post("/v1/chat/completions", json=chat(user=f"m{i}"),
                                    headers={"x-switchyard-tenant": "acme"})
            assert r.status_code == 200 and r.headers["x-switchyard-target"] == SECOND
            failovers += int(r.headers["x-switchyard-failovers"])
            # an early-answered request's workflow records its counters ~10 ms after the reply
            await temporal_env.client.get_workflow_handle(r.headers["x-request-id"]).result()
        assert failovers >= 1  # health may skip the primary once it has seen enough 503s
        r = await gut.http.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        after = _samples(r.text)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    # provider calls by target and status class: the primary's 503s, the second's answers
    failed = delta("switchyard_attempts_total", switchyard_target=PRIMARY, switchyard_route="support_reply")
    assert failed >= failovers
    assert delta("switchyard_attempts_total", switchyard_target=SECOND, switchyard_status_class="ok") == 3
    classes = {s.labels["switchyard_status_class"] for s in after["switchyard_attempts_total"]
               if s.labels["switchyard_target"] == PRIMARY and delta("switchyard_attempts_total",
                                                                    **s.labels) > 0}
    assert classes == {"Overloaded"}  # the simulator's 503s
    # failovers by reason, requests by outcome (the workflow's replay-safe counters)
    assert delta("switchyard_failovers_total", switchyard_reason="Overloaded") == failovers
    assert delta("switchyard_failovers_total", switchyard_route="support_reply") == failovers
    assert delta("switchyard_requests_total", switchyard_outcome="ok", switchyard_tenant="acme") == 3
    # GenAI semconv histograms, in seconds, with provider and model attributes
    assert delta("gen_ai_client_operation_duration_seconds_count", switchyard_target=SECOND,
                 gen_ai_provider_name="openai", gen_ai_request_model="gpt-4o", gen_ai_operation_name="chat") == 3
    assert delta("gen_ai_client_operation_duration_seconds_count", switchyard_target=PRIMARY,
                 error_type="Overloaded") == failed
    assert delta("gen_ai_client_token_usage_count", switchyard_target=SECOND, gen_ai_token_type="output") == 3
    cost = [s for n, ss in after.items() if n.startswith("switchyard_cost") for s in ss]
    assert sum(s.value for s in cost if s.labels.get("switchyard_tenant") == "acme") > 0
    # health state per target: one state is 1 for each target
    health = [s for s in after["switchyard_target_health"] if s.labels["switchyard_target"] == PRIMARY]
    assert sorted(s.labels["switchyard_state"] for s in health) == ["degraded", "down", "healthy"]
    assert sum(s.value for s in health) == 1
    # bounded labels: no workflow ids, prompts or keys anywhere in the exposition
    assert not re.search(r"req-|gw-[0-9a-f]{8}|refill order|NW-48213", r.text)


async def test_metrics_off_is_a_404_and_auth_can_be_required(temporal_env, db_url, sim) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url, config={"metrics": {"enabled": False}}) as gut:
        r = await gut.http.get("/metrics")
        assert r.status_code == 404 and r.json()["error"]["message"].startswith("Metrics are off")
    async with gateway_under_test(temporal_env.client, sim, db_url, auth="required",
                                  config={"metrics": {"require_auth": True}}) as gut:
        r = await gut.http.get("/metrics")
        assert r.status_code == 401
