"""The browser's own verification (issue 14 item 4): a page with ``<section id="browser-verification" hidden
data-bundle-url=...>`` that loads ``/static/verifier/page.js`` from the real API server, in Debian's chromium.

The page verifies against the chain node itself (JSON-RPC from the browser, the endpoint from ``GET
/public/verifier``, the sealed trust list from ``GET /public/trust``): it reaches VALID for a genuine certificate
and INVALID (status revoked) for one revoked on chain, and never asks the platform's verification endpoints.
The public page /verify/{id} is another branch's, so a small loopback server serves a page of our own with that
section, the bundle, and what the real API server answers for the page's other GETs (its script, its verifier
settings, its trust list), byte for byte. (A page Playwright fulfils itself has no address, and Chromium's local
network access checks then refuse its requests to the loopback chain node.)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ledger.issue import status_changes
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.verify.fragments import REQUIRED
from ledger.verify.stored import export_bundle
from tests.browser.conftest import Shoot
from tests.fixtures.library import LibraryEnv, sample_request

CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>证照核验 / verify</title></head>
<body><h1>电子证照核验 / certificate verification</h1>
<section id="browser-verification" hidden data-bundle-url="/bundles/%s.json"></section>
<script src="/static/verifier/page.js"></script></body></html>"""


@dataclass(frozen=True)
class Bundles:
    valid: dict
    revoked: dict


@pytest.fixture(scope="module")
def bundles(library_env: LibraryEnv) -> Bundles:
    lib, market = library_env.lib, library_env.departments["market"]
    licence = library_env.types["business_licence"]
    valid, revoked = (c.identifier for c in issue_many(lib, market, [sample_request(licence) for _ in range(2)]))
    Anchorer(lib).run_once(force=True)
    status_changes.change_status(lib, market, [revoked], "revoke", "营业执照被依法吊销")
    return Bundles(export_bundle(lib, valid), export_bundle(lib, revoked))


@pytest.fixture(scope="module")
def site(api_server: str, bundles: Bundles) -> Iterator[str]:
    """A loopback server: the page for each bundle, the bundles, and the real API's answers to the page's GETs."""
    files = {f"/{name}.html": (PAGE % name).encode() for name in ("valid", "revoked")}
    files.update({f"/bundles/{name}.json": json.dumps(getattr(bundles, name)).encode() for name in ("valid", "revoked")})
    for path in ("/static/verifier/page.js", "/public/verifier", "/public/trust"):
        answer = httpx.get(api_server + path, timeout=10)
        assert answer.status_code == 200, (path, answer.text)
        files[path] = answer.content

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            kind = {".html": "text/html", ".js": "text/javascript"}.get(Path(self.path).suffix, "application/json")
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(bundles: Bundles) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/apt-packages.txt)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


def _verify_in_browser(browser: Browser, site: str, name: str) -> tuple[Page, list[tuple[str, str]]]:
    """Open the page for bundle ``name``; the requests the browser made, once the verdict is shown."""
    context = browser.new_context(base_url=site, viewport={"width": 1000, "height": 900}, locale="zh-CN")
    page = context.new_page()
    requests: list[tuple[str, str]] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/{name}.html")
    expect(page.locator("#browser-verification")).to_have_attribute("data-verdict", re.compile(r"^(VALID|INVALID|ERROR)$"),
                                                                    timeout=30_000)
    assert not errors, errors
    return page, requests


def test_the_browser_verifies_a_genuine_certificate_against_the_chain_itself(
        browser: Browser, site: str, library_env: LibraryEnv, shoot: Shoot) -> None:
    page, requests = _verify_in_browser(browser, site, "valid")
    section = page.locator("#browser-verification")
    expect(section).to_be_visible()
    expect(section).to_contain_text("本机浏览器已直接核验区块链 / verified by this browser against the chain")
    expect(section.locator("[data-verdict]")).to_have_text("核验通过 / VALID")
    for name in REQUIRED:
        expect(section.locator(f'li[data-check="{name}"]')).to_have_attribute("data-status", "VALID")
    rpc = library_env.env["CERTLEDGER_RPC_URL"]
    assert any(method == "POST" and url.rstrip("/") == rpc.rstrip("/") for method, url in requests), requests
    assert not [url for _, url in requests if "/verify" in url or "/counters/" in url], requests
    shoot(page)


def test_the_browser_finds_a_revoked_certificate_invalid(browser: Browser, site: str, shoot: Shoot) -> None:
    page, _ = _verify_in_browser(browser, site, "revoked")
    section = page.locator("#browser-verification")
    expect(section.locator("[data-verdict]")).to_have_text("核验未通过 / INVALID")
    status = section.locator('li[data-check="status"]')
    expect(status).to_have_attribute("data-status", "INVALID")
    expect(status).to_contain_text("revoked")
    expect(section.locator('li[data-check="seal"]')).to_have_attribute("data-status", "VALID")
    shoot(page)


def test_the_server_tells_browsers_where_to_verify(api_server: str, library_env: LibraryEnv) -> None:
    config = httpx.get(f"{api_server}/public/verifier", timeout=10).json()
    assert config == {"rpc_url": library_env.env["CERTLEDGER_RPC_URL"], "trust_list_url": "/public/trust",
                      "verifier_url": "/static/verifier/verifier.js"}
    for name in ("page.js", "verifier.js"):
        r = httpx.get(f"{api_server}/static/verifier/{name}", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    missing = httpx.get(f"{api_server}/static/verifier/other.js", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "asset_not_found"
