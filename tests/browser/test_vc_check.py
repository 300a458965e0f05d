"""The counter page's W3C VC check (api/static/vc-check.js) in a real headless browser against the real API
server: another city's credential, signed with the Digital Bazaar libraries by an issuer on the trust list, shows
VALID with its checks; the same credential tampered shows INVALID on the proof."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ledger.app.onboarding import create_api_key, create_organization
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.credentials.contexts import VC_V2
from ledger.credentials.foreign_issuers import add_issuer, remove_issuer
from tests.browser.conftest import Shoot
from tests.fixtures.credentials import sign_as_other_city
from tests.fixtures.library import LibraryEnv

CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Desk:
    key: str
    credential: dict[str, Any]


@pytest.fixture(scope="module")
def desk(library_env: LibraryEnv) -> Iterator[Desk]:
    lib = library_env.lib
    counter = create_organization(lib, kind="counter", name="政务服务中心外地证照浏览器测试窗口",
                                  uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="12"))
    did = f"did:web:zwfw.wuhan.example:dids:{uuid.uuid4().hex[:18].upper()}"
    document, (credential,) = sign_as_other_city(did, [{
        "@context": [VC_V2], "type": ["VerifiableCredential"], "issuer": did, "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:uuid:" + str(uuid.uuid4())}}])
    add_issuer(lib, did, "武汉市市场监督管理局", document)
    try:
        yield Desk(create_api_key(lib, counter.id, ["counter"]), credential)
    finally:
        remove_issuer(lib, did)


@pytest.fixture(scope="module")
def browser(desk: Desk) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/apt-packages.txt)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


def _check(page: Page, credential: dict[str, Any], expected: str) -> None:
    page.locator("#vc-text").fill(json.dumps(credential, ensure_ascii=False))
    page.locator("#vc-form").get_by_role("button", name="核验 Verify").click()
    expect(page.locator("#vc-verdict")).to_have_attribute("data-verdict", expected)


def test_another_citys_vc_at_the_counter_page(browser: Browser, api_server: str, desk: Desk, shoot: Shoot) -> None:
    context = browser.new_context(base_url=api_server, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto("/counter")
        page.get_by_role("textbox", name="API 密钥").fill(desk.key)
        page.get_by_role("button", name="保存").click()
        _check(page, desk.credential, "VALID")
        expect(page.locator("#vc-verdict")).to_contain_text("有效")
        expect(page.locator('#vc-checks tr[data-check="issuer_trusted"]')).to_contain_text("外地发证机构")
        expect(page.locator('#vc-checks tr[data-check="proof"]')).to_have_attribute("data-status", "VALID")
        shoot(page, "valid")
        tampered = copy.deepcopy(desk.credential)
        tampered["validFrom"] = "2025-01-01T00:00:00Z"
        _check(page, tampered, "INVALID")
        expect(page.locator('#vc-checks tr[data-check="proof"]')).to_contain_text("签名无效")
        shoot(page, "tampered")
    finally:
        context.close()
    assert not errors, errors
