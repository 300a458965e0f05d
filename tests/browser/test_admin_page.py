"""The administrator's page of the city plan's targets (/admin/targets) in a real headless browser (Debian chromium
driven by Playwright) against the real API server over the session's library, at desktop (1280 px) and phone
(375 px) widths: the progress bars with their figures, the chart of certificates per day and department, the
missing lists and their CSV export, and axe-core (npm, hardhat-local/node_modules) finding no serious or critical
accessibility violation. Screenshots are kept (tests/browser/conftest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ledger.app.config import REPO_ROOT
from ledger.app.onboarding import create_api_key, create_organization
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.issue.issuance import issue_many
from tests.browser.conftest import Shoot
from tests.fixtures.library import LibraryEnv, sample_request

CHROMIUM = "/usr/bin/chromium"
AXE = REPO_ROOT / "hardhat-local" / "node_modules" / "axe-core" / "axe.min.js"
TARGET_KEYS = ("types_with_certificates", "records", "types_linked_to_materials", "service_items_accepting",
               "counters_connected", "associations_reporting")


@pytest.fixture(scope="module")
def admin_key(library_env: LibraryEnv) -> str:
    """An admin key, certificates collected today by two departments, and a counter that never verified."""
    lib = library_env.lib
    if lib.engine.dialect.name != "sqlite":  # the page reads the same API on either database (tests/api cover both)
        pytest.skip("the page is tested once, on SQLite: the suite's time")
    issue_many(lib, library_env.departments["market"], [sample_request(library_env.types["business_licence"])
                                                        for _ in range(3)])
    issue_many(lib, library_env.departments["hr"], [sample_request(library_env.types["skill"]) for _ in range(2)])
    create_organization(lib, kind="counter", name="从未核验的窗口", parent_id=library_env.departments["land"].id,
                        uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="12"))
    return create_api_key(lib, library_env.platform.id, ["admin"])


@pytest.fixture(scope="module")
def browser(admin_key: str) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/apt-packages.txt)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


def _page(browser: Browser, base_url: str, width: int) -> tuple[Page, list[str]]:
    # bypass_csp only so that the test can inject axe-core; the page itself runs under its own CSP otherwise
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900}, locale="zh-CN",
                                  bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def _open(page: Page, key: str) -> None:
    page.goto("/admin/targets")
    page.get_by_role("textbox", name="API 密钥").fill(key)
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#targets > li")).to_have_count(len(TARGET_KEYS))


def _serious_violations(page: Page) -> list[dict]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [1280, 375])
def test_the_targets_page_shows_bars_chart_and_missing_lists(browser: Browser, api_server: str, admin_key: str,
                                                             shoot: Shoot, width: int) -> None:
    page, errors = _page(browser, api_server, width)
    try:
        _open(page, admin_key)
        for key in TARGET_KEYS:
            card = page.locator(f'#targets > li[data-key="{key}"]')
            expect(card.get_by_role("progressbar")).to_be_visible()
        records = page.locator('#targets > li[data-key="records"]')
        expect(records).to_contain_text("证照数据总量")
        expect(records).to_contain_text("5,000,000")
        expect(page.locator("#chart svg rect")).not_to_have_count(0)
        expect(page.locator("#legend")).to_contain_text("市场监督管理局")
        counters = page.locator('#missing details[data-key="counters_connected"]')
        counters.locator("summary").click()
        expect(counters).to_contain_text("从未核验的窗口")
        expect(counters).to_contain_text("never verified")
        with page.expect_download() as download:
            counters.get_by_role("button", name="导出 CSV").click()
        text = Path(download.value.path()).read_bytes().decode("utf-8")
        assert text.startswith("\ufeff编码 code,") and "从未核验的窗口" in text
        with page.expect_download() as download:
            page.get_by_role("button", name="导出全部 CSV").click()
        assert Path(download.value.path()).read_bytes().startswith("\ufeff指标 key,".encode())
        shoot(page, f"{width}px")
        assert _serious_violations(page) == []
    finally:
        page.context.close()
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def test_a_wrong_key_is_refused_and_asked_again(browser: Browser, api_server: str, shoot: Shoot) -> None:
    page, errors = _page(browser, api_server, 1280)
    try:
        page.goto("/admin/targets")
        page.get_by_role("textbox", name="API 密钥").fill("not-a-key")
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_role("alert")).to_contain_text("api_key_invalid")
        expect(page.locator("#key-section")).to_be_visible()
        shoot(page)
    finally:
        page.context.close()
