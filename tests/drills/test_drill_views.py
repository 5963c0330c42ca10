"""Drill results next to health: ``switchyard health``'s table and the dashboard (its data and the
page in a real headless browser) show each target's last drill, FAIL with its reasons."""

from __future__ import annotations

import shutil
import time

import pytest
from playwright.async_api import async_playwright
from rich.console import Console

from activities.storage.drill_store import DrillStore
from core.drill import TrialInput
from core.health.view import TargetView
from tests.drills.conftest import CLAUDE, EU, GEMINI, PRIMARY, apply
from tests.gateway.conftest import gateway_under_test
from worker.gateway.server import serve_app
from worker.health_cli import health_table
from worker.trial_runner import run_trial

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


async def test_last_drill_per_target_in_health_table_and_dashboard(temporal_env, db_url, engine, sim) -> None:
    await apply(sim, CLAUDE, error_rate=1.0, errors=[{"status": 503, "share": 1.0}])
    async with gateway_under_test(temporal_env.client, sim, db_url) as gut:
        sy = gut.gw.sy
        report = await run_trial(sy.client, sy.task_queue, TrialInput(route="support_reply", targets=[CLAUDE, GEMINI],
                                                                       count=2))
        assert report.failed_targets() == [CLAUDE]
        data = (await gut.http.get("/dashboard/data")).json()
        drills = {d["target"]: d for d in data["drills"] if d["run_id"] == report.run_id}
        assert drills[CLAUDE]["passed"] is False and drills[GEMINI]["passed"] is True
        assert drills[PRIMARY]["role"] == "primary" and drills[CLAUDE]["reasons"]
        if not shutil.which("chromium"):
            pytest.fail("Debian's chromium package is missing: ./scripts/test.sh installs it")
        async with serve_app(gut.app) as url, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1400, "height": 1100})
            await page.goto(f"{url}/dashboard?refresh_ms=500")
            await page.wait_for_function("Number(document.body.dataset.updates || 0) >= 1")
            row = page.locator("#health tr", has_text=CLAUDE)
            await row.locator("[data-drill=fail]").wait_for(timeout=15_000)
            assert "success rate 0%" in await row.inner_text()
            assert await page.locator("#cache tr", has_text=GEMINI).locator("[data-drill=pass]").count() == 1
            await browser.close()
    now = time.time()
    views = {t: TargetView(target=t, state="healthy", score=1.0, breaker="closed", share=1.0, reasons=[],
                           updated_at=now) for t in (PRIMARY, EU, CLAUDE, GEMINI)}
    console = Console(record=True, width=250)
    console.print(health_table(views, now, await DrillStore(engine).latest_by_target()))
    text = console.export_text()
    lines = {t: next(line for line in text.splitlines() if t in line) for t in views}
    assert "FAIL" in lines[CLAUDE] and "success rate 0%" in lines[CLAUDE]
    assert "pass" in lines[GEMINI] and "primary" in lines[PRIMARY]
