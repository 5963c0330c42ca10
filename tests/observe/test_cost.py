"""``switchyard cost``: its sums equal the outcome rows, and failover's extra cost is what the
failed-over requests paid beyond their first target's price for the same tokens."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from activities.storage.tables import outcomes
from core.chat import Usage
from core.config import Price
from core.cost_report import CostRow, build_report, failover_extra
from core.usage import cost_usd
from tests.configs import SIMULATED
from tests.gateway.conftest import PRIMARY, SECOND, chat, gateway_under_test
from worker.cli import app
from worker.cost_cli import period_start

CLAUDE = "anthropic/claude-3-5-sonnet@us-east"


def _row(wf: str, seq: int, target: str, status: str = "ok", cost: float = 0.0, pt: int = 0, ct: int = 0,
         tenant: str = "t", route: str = "r") -> CostRow:
    return CostRow(workflow_id=wf, seq=seq, try_no=1, target=target, task_type=route, tenant=tenant,
                   status_class=status, prompt_tokens=pt, completion_tokens=ct, cost_usd=cost)


def test_failover_extra_is_paid_minus_the_first_targets_price_for_the_same_tokens() -> None:
    prices = {"a": Price(input=1.0, output=2.0), "b": Price(input=3.0, output=6.0)}
    calls = [_row("w", 1, "a", "ServerError"), _row("w", 2, "b", cost=0.0033, pt=100, ct=500)]
    extra, answer = failover_extra(calls, prices)
    assert answer is calls[1]
    assert extra == pytest.approx(0.0033 - (100 * 1.0 + 500 * 2.0) / 1e6)
    # no failover (answered by the first target after a retry): no extra
    assert failover_extra([_row("x", 1, "a", "ServerError"), _row("x", 1, "a", cost=1e-3, pt=1, ct=1)],
                          prices)[0] is None
    # a cheaper backup: negative extra (failover saved money)
    assert failover_extra([_row("y", 1, "b", "Timeout"), _row("y", 2, "a", cost=1e-4, pt=100, ct=0)],
                          prices)[0] == pytest.approx(1e-4 - 300 / 1e6)


def test_report_lines_add_up() -> None:
    prices = {"a": Price(input=1.0, output=2.0), "b": Price(input=3.0, output=6.0)}
    rows = [_row("1", 1, "a", cost=0.5, tenant="acme"), _row("2", 1, "a", "ServerError", tenant="acme"),
            _row("2", 2, "b", cost=0.25, pt=10, ct=10, tenant="acme"), _row("3", 1, "b", cost=1.0, tenant="zed",
                                                                                  route="q"),
            _row("4", 1, "a", "ServerError", tenant="zed"), _row("4", 2, "b", "ServerError", tenant="zed")]
    rep = build_report(rows, prices)
    assert rep.total.requests == 4 and rep.total.calls == 6 and rep.total.answered == 3
    assert rep.total.spend_usd == pytest.approx(1.75) and rep.total.failed_over == 1
    assert rep.total.failover_extra_usd == pytest.approx(0.25 - 30 / 1e6)
    for lines in (rep.by_tenant, rep.by_route, rep.by_target):
        assert sum(ln.spend_usd for ln in lines) == pytest.approx(rep.total.spend_usd)
        assert sum(ln.calls for ln in lines) == rep.total.calls
    assert sum(ln.requests for ln in rep.by_tenant) == 4
    assert {ln.key: ln.answered for ln in rep.by_target} == {"a": 1, "b": 2}
    assert {ln.key: ln.failed_over for ln in rep.by_target} == {"a": 0, "b": 1}


def test_period_starts_are_utc_calendar_boundaries() -> None:
    now = 1_765_100_000.0  # 2025-12-07 09:33:20 UTC
    assert period_start("day", now) == 1_765_065_600.0
    assert period_start("month", now) == 1_764_547_200.0
    assert period_start("all", now) == 0.0 and period_start("day", now, hours=2) == now - 7200
    with pytest.raises(ValueError, match="unknown period"):
        period_start("week", now)


async def test_cost_command_sums_equal_the_outcome_rows(temporal_env, db_url, sim, engine, monkeypatch) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url) as gut:
        for i in range(2):  # answered by the primary
            assert (await gut.http.post("/v1/chat/completions", json=chat(user=f"ok{i}"),
                                        headers={"x-switchyard-tenant": "acme-cost"})).status_code == 200
        for target in (PRIMARY, SECOND):  # both gpt-4o regions down: Claude answers at its higher price
            await gut.fault(target, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
        traced = []
        for i in range(2):
            r = await gut.http.post("/v1/chat/completions", json=chat(user=f"fo{i}"),
                                    headers={"x-switchyard-tenant": "zed-cost"})
            assert r.status_code == 200 and r.headers["x-switchyard-target"] == CLAUDE
            traced.append(r.json()["usage"])
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SWITCHYARD_CONFIG", str(SIMULATED))
    res = await asyncio.to_thread(CliRunner().invoke, app, ["cost", "--hours", "1", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    async with engine.connect() as conn:
        # the command's window is the last hour: every row of this test run's database so far
        q = sa.select(sa.func.count(), sa.func.sum(outcomes.c.cost_usd)).where(
            outcomes.c.created_at >= time.time() - 3600)
        calls, spend = (await conn.execute(q)).one()
    assert report["total"]["calls"] == calls and report["total"]["spend_usd"] == pytest.approx(spend)
    tenants = {ln["key"]: ln for ln in report["by_tenant"]}
    assert tenants["acme-cost"]["requests"] == 2 and tenants["zed-cost"]["requests"] == 2
    assert tenants["zed-cost"]["failed_over"] == 2
    assert tenants["acme-cost"]["failed_over"] == 0 and tenants["acme-cost"]["failover_extra_usd"] == 0
    gpt = Price(input=2.50, output=10.00, cached_input=1.25)
    claude = Price(input=3.00, output=15.00, cached_input=0.30)
    expected = sum(cost_usd(Usage(prompt_tokens=u["prompt_tokens"], completion_tokens=u["completion_tokens"]), claude)
                   - cost_usd(Usage(prompt_tokens=u["prompt_tokens"], completion_tokens=u["completion_tokens"]), gpt)
                   for u in traced)
    assert expected > 0
    assert tenants["zed-cost"]["failover_extra_usd"] == pytest.approx(expected)
    only = await asyncio.to_thread(CliRunner().invoke, app, ["cost", "--hours", "1", "--tenant", "zed-cost", "--json"])
    targets = {ln["key"]: ln for ln in json.loads(only.output)["by_target"]}  # other tests' requests left out
    assert targets[CLAUDE]["failover_extra_usd"] == pytest.approx(expected) and targets[CLAUDE]["answered"] == 2
    table = await asyncio.to_thread(CliRunner().invoke, app, ["cost", "--hours", "1"])
    assert table.exit_code == 0 and "Spend per tenant" in table.output and "zed-cost" in table.output
    assert (await asyncio.to_thread(CliRunner().invoke, app, ["cost", "--period", "week"])).exit_code == 2
