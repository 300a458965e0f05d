"""The counter's page in a real headless browser (Debian chromium driven by Playwright) against the real
API server (uvicorn over the session's library: real chain, IPFS and database).

Certificates are issued and anchored for real; two are then revoked through ``ledger.issue.status_changes`` (the
contract's setStatus sent from the issuing department's own account, and the event recorded in the
history). A holder gets a use code for an intake whose service item wants a certificate they hold, a
revoked one, one they lack and a material no certificate stands for. Every test asserts on what the
page shows and keeps a screenshot (tests/browser/conftest.py). Each page is also checked with axe-core at 1280 and
375 px (``tests/browser/axe.py``): no serious or critical violation.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from ledger.app.onboarding import create_api_key, create_organization
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.holders import tokens as holders
from ledger.holders import usecodes
from ledger.holders.service_items import define_service_item
from ledger.issue import status_changes
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import fetch_document, issue_one
from ledger.issue.reports import submit_batch
from ledger.issue.versions import new_version
from ledger.storage.models import CertificateType
from ledger.verify.fragments import REQUIRED
from ledger.verify.stored import export_bundle
from tests.browser.axe import PHONE, assert_accessible
from tests.browser.conftest import Shoot
from tests.fixtures.library import LibraryEnv, sample_request
from tests.test_reports import summary as report_summary

CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Desk:
    """What the counter has in hand: its key, and certificates in every state the tests show."""

    key: str
    department: str
    valid: str  # anchored, with a sealed PDF
    qr_text: str  # what a scanner reads from that PDF's QR code
    revoked: str  # anchored, then revoked on chain by its department
    superseded: str  # anchored, then renewed: its current version is ``current``
    current: str
    report: str  # an association's report summary, anchored
    pdf: Path
    tampered_bundle: Path
    holder_id: str  # a citizen ID: holds a valid skill certificate and a revoked real-estate certificate
    service_item: str  # wants those two, an ID card the holder lacks, and a form no certificate stands for
    use_code: str


@pytest.fixture(scope="module")
def desk(library_env: LibraryEnv, tmp_path_factory: pytest.TempPathFactory) -> Desk:
    lib = library_env.lib
    counter = create_organization(lib, kind="counter", name="政务服务中心浏览器测试窗口",
                                  uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="12"))
    key = create_api_key(lib, counter.id, ["counter"])
    market, licence = library_env.departments["market"], library_env.types["business_licence"]
    valid = issue_one(lib, market, sample_request(licence, document="render")).identifier
    revoked = issue_one(lib, market, sample_request(licence)).identifier
    superseded = issue_one(lib, market, sample_request(licence, valid_until="2027-12-31")).identifier
    hr, land, types = library_env.departments["hr"], library_env.departments["land"], library_env.types
    skill_request = sample_request(types["skill"], document="render")
    holder = {k: skill_request[k] for k in ("holder", "holder_id", "holder_id_type")}
    issue_one(lib, hr, skill_request)
    house = issue_one(lib, land, sample_request(types["real_estate"], **holder)).identifier
    Anchorer(lib).run_once(force=True)

    # sent on chain from the department's own account, and recorded in the certificate's history
    status_changes.change_status(lib, market, [revoked], "revoke", "营业执照被依法吊销")
    status_changes.change_status(lib, land, [house], "revoke", "不动产已转移登记")
    current = new_version(lib, market, superseded, "renew", {"valid_until": "2031-12-31"},
                          reason="有效期延续").issued.identifier
    association = create_organization(lib, kind="association", name="市示例检测协会浏览器测试",
                                      uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="51"))
    report = submit_batch(lib, association, [report_summary()])[0].identifier
    Anchorer(lib).run_once(force=True)

    with lib.sessions() as session:
        id_card = session.scalars(select(CertificateType.code).where(CertificateType.name == "居民身份证")).one()
    item = f"BT-{uuid.uuid4().hex[:10]}"
    with lib.sessions() as session:
        define_service_item(session, {
            "code": item, "name": "职业技能提升补贴申领", "department": hr.uscc, "holder_kind": "natural_person",
            "materials": [
                {"name": "职业技能等级证书", "certificate_type": types["skill"].code},
                {"name": "不动产权证书", "certificate_type": types["real_estate"].code},
                {"name": "居民身份证", "certificate_type": id_card},
                {"name": "补贴申请表", "certificate_type": None, "required": False},
            ]})
    use_code = usecodes.issue(lib, holders.holder_key_of(lib, "111", holder["holder_id"])).code

    folder = tmp_path_factory.mktemp("counter-page")
    pdf = folder / "licence.pdf"
    pdf.write_bytes(fetch_document(lib, valid))
    qr_text = scan_qr(pdf)
    tampered = copy.deepcopy(export_bundle(lib, valid))
    tampered["record"]["holder"] = "冒名顶替有限公司"
    bundle = folder / "tampered.json"
    bundle.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    return Desk(key, market.name, valid, qr_text, revoked, superseded, current, report, pdf, bundle, holder["holder_id"],
                item, use_code)


def scan_qr(pdf: Path) -> str:
    """The text of the QR code printed on a certificate PDF, as a scanner reads it (poppler + zbar)."""
    for tool in ("pdftoppm", "zbarimg"):
        assert shutil.which(tool), f"{tool} is missing: apt-get install the packages in scripts/apt-packages.txt"
    image = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(image)], check=True)
    out = subprocess.run(["zbarimg", "-q", "--raw", f"{image}.png"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def browser(desk: Desk) -> Iterator[Browser]:
    """Set up after ``desk``: Playwright's sync API keeps an event loop running in this thread while the
    browser lives, and issuing (the PDF seal) runs an asyncio loop of its own."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/apt-packages.txt)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, api_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=api_server, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield page
    finally:
        context.close()
    # chromium logs "Failed to load resource" for each refused request the page then explains; nothing else
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def open_desk(page: Page, key: str) -> None:
    page.goto("/counter")
    page.get_by_role("textbox", name="API 密钥").fill(key)
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#identifier-input")).to_be_focused()


def verify_file(page: Page, tab: str, form: str, path: Path) -> None:
    """Upload a file on one of the page's file tabs (``form``: the id prefix of its input and form) and verify it."""
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{form}-input").set_input_files(path)
    page.locator(f"#{form}-form").get_by_role("button", name="核验 Verify").click()


def check_row(page: Page, name: str) -> str:
    return page.locator(f'#checks-body tr[data-check="{name}"]').get_attribute("data-status") or ""


def test_page_needs_no_key_and_asks_for_one(page: Page, shoot: Shoot) -> None:
    response = page.goto("/counter")
    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    expect(page.locator("#key-section")).to_be_visible()
    expect(page.locator("#work")).to_be_hidden()
    expect(page).to_have_title(re.compile("证照核验"))
    missing = page.request.get("/counter/assets/missing.js")
    assert missing.status == 404 and missing.json()["error"]["code"] == "asset_not_found"
    shoot(page)


def test_a_scanned_qr_code_shows_valid(page: Page, desk: Desk, shoot: Shoot) -> None:
    assert desk.qr_text.startswith("http") and desk.valid in desk.qr_text  # the address, not a bare identifier
    open_desk(page, desk.key)
    # a USB scanner types the QR code's contents (the public verification address) and presses Enter
    page.locator("#identifier-input").press_sequentially(desk.qr_text)
    page.keyboard.press("Enter")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "VALID")
    expect(verdict).to_contain_text("有效")
    expect(page.locator("#identifier-input")).to_have_value(desk.valid)
    assert all(check_row(page, name) == "VALID" for name in REQUIRED)
    expect(page.locator("#cert-fields")).to_contain_text(desk.valid)
    expect(page.locator("#cert-warning")).to_be_hidden()
    seal = page.locator("#seal-fields")
    expect(seal).to_contain_text(desk.department)
    expect(seal).to_contain_text("ECDSA P-256")
    expect(seal).to_contain_text("印章证书序列号")
    expect(page.locator('#history-body tr[data-action="issue"]')).to_contain_text("签发")
    shoot(page)


def test_a_revoked_certificate_shows_invalid_with_its_status(page: Page, desk: Desk,
                                                              shoot: Shoot) -> None:
    open_desk(page, desk.key)
    page.locator("#identifier-input").fill(desk.revoked)
    page.locator("#identifier-form").get_by_role("button", name="核验 Verify").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "INVALID")
    expect(verdict).to_contain_text("无效")
    expect(verdict).to_contain_text("status on chain is 03 (revoked)")
    status = page.locator('#checks-body tr[data-check="status"]')
    expect(status).to_have_attribute("data-status", "INVALID")
    expect(status).to_contain_text("revoked")
    assert check_row(page, "record_integrity") == "VALID"
    expect(page.locator("#cert-fields")).to_contain_text("03 撤销")
    revocation = page.locator('#history-body tr[data-action="revoke"]')
    expect(revocation).to_contain_text("营业执照被依法吊销")
    expect(revocation).to_contain_text("0x")
    shoot(page)


def test_a_tampered_bundle_shows_invalid_record_integrity(page: Page, desk: Desk,
                                                          shoot: Shoot) -> None:
    open_desk(page, desk.key)
    verify_file(page, "核验包", "bundle", desk.tampered_bundle)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "INVALID")
    integrity = page.locator('#checks-body tr[data-check="record_integrity"]')
    expect(integrity).to_have_attribute("data-status", "INVALID")
    expect(page.locator("#verdict")).to_contain_text("record_integrity")
    expect(page.locator("#cert-fields")).to_contain_text("冒名顶替有限公司")
    expect(page.locator("#cert-warning")).to_be_visible()  # the tampered holder is shown as not to be trusted
    shoot(page)


def test_an_uploaded_pdf_shows_valid_with_its_document_checks(page: Page, desk: Desk,
                                                              shoot: Shoot) -> None:
    open_desk(page, desk.key)
    verify_file(page, "证照 PDF", "pdf", desk.pdf)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "VALID")
    assert check_row(page, "document_digest") == "VALID"
    assert check_row(page, "document_seal") == "VALID"
    expect(page.locator("#cert-fields")).to_contain_text(desk.valid)
    shoot(page)


def test_errors_are_shown_and_a_refused_key_is_asked_again(page: Page, desk: Desk,
                                                           shoot: Shoot) -> None:
    open_desk(page, desk.key)
    page.locator("#identifier-input").fill("1.2.3")
    page.keyboard.press("Enter")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("identifier_malformed")
    expect(page.locator("#result")).to_be_hidden()
    shoot(page)

    page.get_by_role("button", name="更换密钥").click()
    page.get_by_role("textbox", name="API 密钥").fill("not-a-key")
    page.get_by_role("button", name="保存").click()  # the key is checked when it is entered
    expect(page.locator("#key-form .alert")).to_contain_text("重新输入")
    expect(page.locator("#key-section")).to_be_visible()
    expect(page.locator("#work")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_use_code_intake_shows_each_material(page: Page, desk: Desk, shoot: Shoot) -> None:
    open_desk(page, desk.key)
    page.get_by_role("tab", name="用证码办件").click()
    picker = page.get_by_label("办理事项")
    expect(picker.locator(f'option[value="{desk.service_item}"]')).to_have_text(re.compile("职业技能提升补贴申领"))
    picker.select_option(desk.service_item)  # picked by name: the option says the item's name
    page.get_by_label("办件编号").fill("CASE-2026-0001")
    page.get_by_label("证件类型").select_option("111")
    page.get_by_label("证件号码").fill(desk.holder_id)
    page.get_by_role("textbox", name="用证码").fill(desk.use_code)
    page.get_by_label("工作人员编号").fill("S-0042")
    page.get_by_role("button", name="调取证照").click()

    rows = page.locator("#materials-body tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#intake-meta")).to_contain_text("职业技能提升补贴申领")
    skill, house, id_card, form = (page.locator(f'#materials-body tr[data-material="{name}"]')
                                   for name in ("职业技能等级证书", "不动产权证书", "居民身份证", "补贴申请表"))
    expect(skill).to_have_attribute("data-outcome", "provided")
    expect(skill).to_contain_text("有效 VALID")
    expect(house).to_have_attribute("data-outcome", "provided")
    expect(house).to_contain_text("无效 INVALID")
    expect(id_card).to_have_attribute("data-outcome", "missing")
    expect(id_card).to_contain_text("缺失")
    expect(form).to_have_attribute("data-outcome", "not_linked")
    shoot(page)
    assert_accessible(page)

    # the sealed PDF of a certificate the use code showed opens at the counter
    with page.context.expect_page() as opened:
        skill.get_by_role("button", name="查看 PDF").click()
    opened.value.close()
    expect(skill.locator("button.open-pdf")).to_have_attribute("data-pdf-bytes", re.compile(r"^[1-9][0-9]+$"))

    # the revoked material's own verification, with its history
    house.get_by_role("button", name="查看核验").click()
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "INVALID")
    expect(page.locator('#checks-body tr[data-check="status"]')).to_have_attribute("data-status", "INVALID")
    expect(page.locator('#history-body tr[data-action="revoke"]')).to_contain_text("不动产已转移登记")
    shoot(page, "details")

    # a use code is single-use: the second intake is refused, and the page says why
    page.get_by_role("textbox", name="用证码").fill(desk.use_code)
    page.get_by_role("button", name="调取证照").click()
    expect(page.locator("#error")).to_contain_text("use_code_used")
    expect(page.locator("#intake-result")).to_be_hidden()


def test_a_young_certificate_is_pending_not_invalid(page: Page, desk: Desk, library_env: LibraryEnv,
                                                    shoot: Shoot) -> None:
    young = issue_one(library_env.lib, library_env.departments["market"],
                      sample_request(library_env.types["business_licence"])).identifier
    open_desk(page, desk.key)
    page.locator("#identifier-input").fill(young)
    page.keyboard.press("Enter")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "PENDING")
    expect(verdict).to_contain_text("待上链")
    expect(verdict).to_contain_text("预计上链时间")
    expect(verdict).not_to_contain_text("INVALID")
    shoot(page)


def test_a_tampered_pdf_shows_no_green_beside_invalid(page: Page, desk: Desk, tmp_path: Path, shoot: Shoot) -> None:
    data = bytearray(desk.pdf.read_bytes())
    at = data.rindex(b"/Producer") if b"/Producer" in data else len(data) // 2
    data[at + 12] = ord("X") if data[at + 12] != ord("X") else ord("Y")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    open_desk(page, desk.key)
    verify_file(page, "证照 PDF", "pdf", tampered)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "INVALID")
    expect(page.locator("#verdict-guide")).to_contain_text("下一步")
    expect(page.locator("#verdict-guide")).to_contain_text("请用证照标识（扫码）核验")
    green = page.evaluate("""() => [...document.querySelectorAll('#result .badge, #result .status-ok')]
        .filter((e) => e.offsetParent !== null && getComputedStyle(e).color === 'rgb(19, 112, 58)').length""")
    assert green == 0, "a passing check is shown in green beside INVALID"
    shoot(page)


def test_a_superseded_certificate_links_to_its_current_version(page: Page, desk: Desk, shoot: Shoot) -> None:
    open_desk(page, desk.key)
    page.locator("#identifier-input").fill(desk.superseded)
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "INVALID")
    page.get_by_role("button", name="核验当前版本").click()
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "VALID")
    expect(page.locator("#identifier-input")).to_have_value(desk.current)
    expect(page.locator("#cert-fields")).to_contain_text(desk.current)
    shoot(page)


def test_the_report_tab_verifies_report_summaries(page: Page, desk: Desk, shoot: Shoot) -> None:
    open_desk(page, desk.key)
    page.get_by_role("tab", name="报告核验").click()
    page.locator("#report-input").fill(desk.report)
    page.locator("#report-form").get_by_role("button", name="核验 Verify").click()
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "VALID")
    expect(page.locator("#cert-fields")).to_contain_text(desk.report)
    expect(page.locator("#history-note")).to_contain_text("报告摘要没有状态历史")
    shoot(page)
    page.locator("#report-input").fill(desk.report + "X")
    page.locator("#report-form").get_by_role("button", name="核验 Verify").click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("report_")


@pytest.mark.parametrize("width", [1280, PHONE])
def test_no_serious_accessibility_violation_and_nothing_overflows(page: Page, desk: Desk, width: int,
                                                                  shoot: Shoot) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/counter")
    assert_accessible(page)
    open_desk(page, desk.key)
    page.locator("#identifier-input").fill(desk.revoked)
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "INVALID")
    expect(page.locator('#history-body tr[data-action="revoke"]')).to_be_visible()
    assert_accessible(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a {width} px screen"
    shoot(page)


@pytest.mark.parametrize("width", [1280, PHONE])
def test_the_public_page_a_qr_code_opens(page: Page, desk: Desk, width: int, shoot: Shoot) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(f"/verify/{desk.valid}")
    assert response is not None and response.status == 200 and "text/html" in response.headers["content-type"]
    expect(page.locator(".verdict")).to_contain_text("有效")
    expect(page.locator(".verdict")).to_contain_text("这意味着")
    expect(page.locator("#browser-verification")).to_have_attribute("data-bundle-url", f"/public/proofs/{desk.valid}")
    assert_accessible(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    shoot(page)
    page.goto(f"/verify/{desk.revoked}")
    expect(page.locator(".verdict")).to_contain_text("无效")
    expect(page.locator(".verdict")).to_contain_text("下一步")
    assert_accessible(page)
    shoot(page, "revoked")
