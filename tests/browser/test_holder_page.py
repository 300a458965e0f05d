"""The holder's page (/me) and a share link's public page in a real headless browser (Debian chromium driven by
Playwright) against the real API server, at desktop (1280 px) and phone (375 px) widths: the holder signs in
with their token, sees their certificates, downloads the PDF, makes a use code with its QR code, makes a share
link limited to chosen fields, sees its opening in the access log; axe-core finds no serious or critical
violation on either page. Screenshots are kept (tests/browser/conftest.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ledger.app.config import REPO_ROOT
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.holders import tokens as holders
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_one
from tests.browser.conftest import Shoot
from tests.fixtures.library import LibraryEnv, sample_request

CHROMIUM = "/usr/bin/chromium"
AXE = REPO_ROOT / "hardhat-local" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 375}


@dataclass(frozen=True)
class Holder:
    token: str
    licence: str
    holder_name: str
    uscc: str


@pytest.fixture(scope="module")
def holder(library_env: LibraryEnv) -> Holder:
    lib = library_env.lib
    uscc = derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="91")
    name = "浏览器测试科技有限公司"
    request = sample_request(library_env.types["business_licence"], document="render", holder=name, holder_id=uscc,
                             holder_id_type="001")
    licence = issue_one(lib, library_env.departments["market"], request).identifier
    Anchorer(lib).run_once(force=True)
    return Holder(holders.issue_token(lib, "001", uscc).token, licence, name, uscc)


@pytest.fixture(scope="module")
def browser(holder: Holder) -> Iterator[Browser]:
    """Set up after ``holder``: Playwright's sync API keeps an event loop in this thread, and issuing (the PDF
    seal) runs one of its own."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/apt-packages.txt)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, browser: Browser, api_server: str) -> Iterator[Page]:
    # bypass_csp only lets the test inject axe-core; the page itself runs under its own policy
    context = browser.new_context(base_url=api_server, viewport={"width": WIDTHS[request.param], "height": 900},
                                  locale="zh-CN", accept_downloads=True, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield page
    finally:
        context.close()
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now."""
    assert AXE.exists(), f"{AXE} is missing: npm install in hardhat-local (axe-core)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def _no_overflow(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 1, f"the page is {width}px wider than the window"


def test_holder_page(page: Page, holder: Holder, api_server: str, shoot: Shoot) -> None:
    page.goto("/me")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.fill("#token-input", holder.token)
    page.get_by_role("button", name="登录 Sign in").click()
    item = page.locator("#certs li").filter(has_text=holder.licence)
    expect(item).to_be_visible()
    expect(item.locator(".badge")).to_contain_text("有效")

    with page.expect_download() as download:
        item.get_by_role("button", name="下载 PDF").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    page.get_by_role("button", name="生成用证码").click()
    expect(page.locator("#code-text")).to_have_text(re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$"))
    expect(page.locator("#code-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))

    page.uncheck("#share-all")
    page.check("#share-fields input[value=holder]")
    page.fill("#share-label", "给房东")
    page.get_by_role("button", name="生成分享链接").click()
    expect(page.locator("#share-url")).to_contain_text("/shared/shr_")
    path = urlsplit(page.locator("#share-url").inner_text()).path  # the server's public URL is not this test's
    expect(page.locator("#links tr").first).to_contain_text("给房东")
    _no_overflow(page)
    assert axe_violations(page) == []
    shoot(page)

    shared = httpx.get(api_server + path, headers={"Accept": "application/json"}, timeout=30).json()
    assert [f["key"] for f in shared["fields"]] == ["holder"]
    page.reload()
    expect(page.locator("#log li").first).to_contain_text("分享链接")
    page.locator("#log li").first.get_by_role("button").click()
    expect(page.locator("#log li .check-result").first).not_to_be_empty()
    page_of_qr = httpx.get(f"{api_server}/verify/{holder.licence}", headers={"Accept": "text/html"}, timeout=30)
    assert page_of_qr.status_code == 200  # shows the holder masked: a lookup in the holder's log
    for _ in range(10):  # another server worker may hold it: each writes its lookups within 5 s
        page.reload()
        if "公众（扫码核验）" in page.locator("#log li").first.inner_text():
            break
        page.wait_for_timeout(1000)
    expect(page.locator("#log li").first).to_contain_text("公众（扫码核验）")

    page.goto(path)
    expect(page.locator(".verdict")).to_contain_text("有效")
    expect(page.locator("main")).to_contain_text(holder.holder_name)
    expect(page.locator("main")).not_to_contain_text(holder.uscc)
    _no_overflow(page)
    assert axe_violations(page) == []
    shoot(page, "shared")


def test_a_wrong_token_is_refused_on_the_page(page: Page, shoot: Shoot) -> None:
    page.goto("/me")
    page.fill("#token-input", "clh_not.a-token")
    page.get_by_role("button", name="登录 Sign in").click()
    expect(page.locator("#token-error")).to_be_visible()
    expect(page.locator("#work")).to_be_hidden()
    assert axe_violations(page) == []
    shoot(page)
