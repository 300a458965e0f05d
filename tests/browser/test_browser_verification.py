"""The browser's own verification on the real public page (issue 14 item 4): Debian's chromium opens the QR
address ``/verify/{id}`` served by the real API (uvicorn) for a certificate anchored on the real chain node; the
page's script (``/static/verifier/page.js``) fetches the public proof (``/public/proofs/{id}``), the JSON-RPC
endpoint (``GET /public/verifier``) and the sealed trust list (``GET /public/trust``), verifies against the chain
node itself (the page's Content-Security-Policy allows connect-src to it) and shows each check and the verdict:
VALID for a genuine certificate, INVALID (status revoked) for one revoked on chain through the library. The page's
script never asks the platform's verification endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

from ledger.issue import status_changes
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from tests.browser.conftest import Shoot
from tests.fixtures.library import LibraryEnv, sample_request

CHROMIUM = "/usr/bin/chromium"
# What a public proof lets the browser check against the chain; record_integrity and the seal's signature over the
# record need the holder's bundle (SKIPPED, reason no_record).
CHAIN_CHECKS = ("merkle_proof", "anchor_on_chain", "anchor_issuer", "seal", "seal_chain", "seal_certificate_valid",
                "seal_signer_matches", "status", "validity_period")


@dataclass(frozen=True)
class Certificates:
    valid: str
    revoked: str


@pytest.fixture(scope="module")
def certificates(library_env: LibraryEnv) -> Certificates:
    lib, market = library_env.lib, library_env.departments["market"]
    licence = library_env.types["business_licence"]
    valid, revoked = (c.identifier for c in issue_many(lib, market, [sample_request(licence) for _ in range(2)]))
    Anchorer(lib).run_once(force=True)
    status_changes.change_status(lib, market, [revoked], "revoke", "营业执照被依法吊销")
    return Certificates(valid, revoked)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/apt-packages.txt)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


def _verify_in_browser(browser: Browser, api_server: str, identifier: str) -> tuple[Page, list[Request]]:
    """Open the public page of ``identifier``; the requests the browser made, once its own verdict is shown."""
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="zh-CN")
    page = context.new_page()
    requests: list[Request] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{api_server}/verify/{identifier}")
    expect(page.locator("#browser-verification")).to_have_attribute(
        "data-verdict", re.compile(r"^(VALID|INVALID|ERROR)$"), timeout=30_000)
    assert not errors, errors
    return page, requests


def _assert_verified_by_the_browser(requests: list[Request], api_server: str, rpc: str, identifier: str) -> None:
    """The script asked the chain node (JSON-RPC POSTs) and the public proof, never a verification endpoint."""
    fetched = [(r.method, r.url) for r in requests if r.resource_type in ("fetch", "xhr")]
    assert any(m == "POST" and u.rstrip("/") == rpc.rstrip("/") for m, u in fetched), fetched
    assert ("GET", f"{api_server}/public/proofs/{identifier}") in fetched, fetched
    assert not [u for _, u in fetched if "/verify" in u or "/counters/" in u], fetched


def test_the_public_page_verifies_a_genuine_certificate_in_the_browser(
        browser: Browser, api_server: str, certificates: Certificates, library_env: LibraryEnv, shoot: Shoot) -> None:
    page, requests = _verify_in_browser(browser, api_server, certificates.valid)
    section = page.locator("#browser-verification")
    expect(section).to_be_visible()
    expect(section).to_contain_text("本机浏览器已直接核验区块链 / verified by this browser against the chain")
    expect(section.locator("[data-verdict]")).to_have_text("核验通过 / VALID")
    for name in CHAIN_CHECKS:
        expect(section.locator(f'li[data-check="{name}"]')).to_have_attribute("data-status", "VALID")
    for name in ("record_integrity", "seal_intact"):
        item = section.locator(f'li[data-check="{name}"]')
        expect(item).to_have_attribute("data-status", "SKIPPED")
        expect(item).to_contain_text("no_record")
    _assert_verified_by_the_browser(requests, api_server, library_env.env["CERTLEDGER_RPC_URL"], certificates.valid)
    shoot(page)


def test_the_public_page_finds_a_revoked_certificate_invalid_in_the_browser(
        browser: Browser, api_server: str, certificates: Certificates, library_env: LibraryEnv, shoot: Shoot) -> None:
    page, requests = _verify_in_browser(browser, api_server, certificates.revoked)
    section = page.locator("#browser-verification")
    expect(section.locator("[data-verdict]")).to_have_text("核验未通过 / INVALID")
    status = section.locator('li[data-check="status"]')
    expect(status).to_have_attribute("data-status", "INVALID")
    expect(status).to_contain_text("revoked")
    expect(section.locator('li[data-check="merkle_proof"]')).to_have_attribute("data-status", "VALID")
    expect(section.locator('li[data-check="seal"]')).to_have_attribute("data-status", "VALID")
    _assert_verified_by_the_browser(requests, api_server, library_env.env["CERTLEDGER_RPC_URL"], certificates.revoked)
    shoot(page)


def test_the_page_may_reach_the_chain_node_and_nothing_else(
        api_server: str, certificates: Certificates, library_env: LibraryEnv) -> None:
    page = httpx.get(f"{api_server}/verify/{certificates.valid}", headers={"accept": "text/html"}, timeout=10)
    rpc = httpx.URL(library_env.env["CERTLEDGER_RPC_URL"])
    assert f"connect-src 'self' {rpc.scheme}://{rpc.netloc.decode()};" in page.headers["content-security-policy"]


def test_the_server_tells_browsers_where_to_verify(api_server: str, library_env: LibraryEnv) -> None:
    config = httpx.get(f"{api_server}/public/verifier", timeout=10).json()
    assert config == {"rpc_url": library_env.env["CERTLEDGER_RPC_URL"], "trust_list_url": "/public/trust",
                      "verifier_url": "/static/verifier/verifier.js"}
    for name in ("page.js", "verifier.js"):
        r = httpx.get(f"{api_server}/static/verifier/{name}", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    missing = httpx.get(f"{api_server}/static/verifier/other.js", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "asset_not_found"
