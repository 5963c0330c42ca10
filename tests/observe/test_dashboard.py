"""The dashboard in a real headless browser (Playwright driving Debian's ``chromium``) during a
simulated outage of the primary: it renders health, failovers with links to the Temporal UI,
latency and cost, updates live without a reload, and a screenshot is taken mid-outage.

``scripts/test.sh`` installs the ``chromium`` package when it is missing; a browser download at
run time is never attempted (Playwright is pointed at ``/usr/bin/chromium``)."""

from __future__ import annotations

import shutil

import pytest
from playwright.async_api import async_playwright

from tests.gateway.conftest import PRIMARY, SECOND, chat, gateway_under_test
from worker.gateway.server import serve_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium package is missing: ./scripts/test.sh installs it (apt-get install chromium)")
    return CHROMIUM


async def test_dashboard_renders_and_updates_live_during_an_outage(temporal_env, db_url, sim, chromium,
                                                                   tmp_path) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url) as gut, serve_app(gut.app) as url:
        # 500s (no cooldown after them): the primary keeps being tried until its breaker opens
        await gut.fault(PRIMARY, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
        for i in range(10):
            r = await gut.http.post("/v1/chat/completions", json=chat(user=f"d{i}"),
                                    headers={"x-switchyard-tenant": "acme"})
            assert r.status_code == 200 and r.headers["x-switchyard-target"] == SECOND
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1400, "height": 1100})
            await page.goto(f"{url}/dashboard?window_s=600&refresh_ms=500")
            await page.wait_for_function("Number(document.body.dataset.updates || 0) >= 1")
            # health of the primary with its signals, published by the gateway's health layer
            row = page.locator("#health tr", has_text=PRIMARY)
            await row.wait_for()
            await page.wait_for_function(
                f"[...document.querySelectorAll('#health tr')].some(r => r.textContent.includes('{PRIMARY}') "
                "&& r.querySelector('.state').dataset.state !== 'healthy')", timeout=15_000)
            # failovers with links to their workflows in the Temporal UI
            links = page.locator("#failovers a.wf")
            assert await links.count() >= 1
            href = await links.first.get_attribute("href")
            assert href.startswith("http://127.0.0.1:8233/namespaces/default/workflows/req-")
            assert await page.locator("#failovers svg rect").count() >= 1
            assert await page.locator("#latency tr", has_text=SECOND).count() == 1
            assert "acme" in await page.locator("#cost").inner_text()
            await page.screenshot(path=str(tmp_path / "dashboard-outage.png"), full_page=True)
            assert (tmp_path / "dashboard-outage.png").stat().st_size > 10_000
            # live: new traffic shows up without a reload
            n = int(await page.evaluate("document.body.dataset.updates"))
            for i in range(3):
                await gut.http.post("/v1/chat/completions", json=chat(user=f"later{i}"),
                                    headers={"x-switchyard-tenant": "zed"})
            await page.wait_for_function(f"Number(document.body.dataset.updates) > {n + 1}")
            await page.locator("#cost", has_text="zed").wait_for(timeout=10_000)
            assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1
            await browser.close()


async def test_dashboard_data_needs_the_gateway_key(temporal_env, db_url, sim, chromium) -> None:
    async with gateway_under_test(temporal_env.client, sim, db_url, auth="required") as gut:
        assert (await gut.http.get("/dashboard/data")).status_code == 401
        assert (await gut.http.get("/dashboard")).status_code == 200  # the page holds no data
        r = await gut.http.get("/dashboard/data?window_s=abc", headers={"authorization": "Bearer x"})
        assert r.status_code == 401
        async with serve_app(gut.app) as url, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page()
            await page.goto(f"{url}/dashboard")
            await page.locator("#login").wait_for(state="visible")
            await browser.close()
