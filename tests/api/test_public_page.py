"""The QR address as a page: HTML for a browser, JSON for an API client; PENDING then VALID; the public proof
carries no personal data; a superseded certificate links to its current version; English on request."""

from __future__ import annotations

import json
import re
from typing import Any

from ledger.core.masking import masked_holder
from ledger.issue.anchoring import Anchorer
from tests.api.conftest import Api
from tests.fixtures.library import sample_request

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _issue(api: Api, **overrides: Any) -> dict[str, Any]:
    r = api.call("POST", "/departments/certificates", "market",
                 json=sample_request(api.env.types["business_licence"], **overrides))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_browser_gets_the_page_pending_then_valid_and_an_api_client_json(api: Api) -> None:
    cert = _issue(api)
    ident = cert["identifier"]
    page = api.client.get(f"/verify/{ident}", headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "待上链" in page.text and "PENDING" in page.text and "预计上链" in page.text
    assert "这意味着" in page.text and "下一步" in page.text
    assert 'id="browser-verification" hidden data-bundle-url=""' in page.text
    assert "https://" not in page.text and "http://" not in page.text  # no external asset
    as_json = api.client.get(f"/verify/{ident}")
    assert as_json.headers["content-type"] == "application/json" and as_json.json()["verdict"] == "PENDING"
    assert "Accept" in as_json.headers["vary"] and "Accept" in page.headers["vary"]
    assert api.client.get(f"/public/proofs/{ident}").json()["error"]["code"] == "certificate_not_anchored"

    Anchorer(api.env.lib).run_once(force=True)
    page = api.client.get(f"/verify/{ident}", headers=BROWSER).text
    assert "有效" in page and "VALID" in page and "营业执照" in page
    assert f'data-bundle-url="/public/proofs/{ident}"' in page
    assert "签发" in page and "状态记录" in page  # the status history
    assert ('<script type="module" src="/static/verifier/page.js">' in page) == _verifier_installed()
    assert api.client.get(f"/verify/{ident}", headers={"Accept": "application/json"}).json()["verdict"] == "VALID"
    css = api.client.get("/verify-assets/verify.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_personal_data_is_masked_on_the_page_and_absent_from_the_public_proof(api: Api) -> None:
    request = sample_request(api.env.types["business_licence"])
    r = api.call("POST", "/departments/certificates", "market", json=request)
    ident = r.json()["identifier"]
    Anchorer(api.env.lib).run_once(force=True)
    page = api.client.get(f"/verify/{ident}", headers=BROWSER).text
    assert request["holder"] not in page and request["holder_id"] not in page
    assert masked_holder(request)["holder"] in page  # masked as everywhere (ledger.core.masking)
    proof = api.client.get(f"/public/proofs/{ident}")
    assert proof.status_code == 200, proof.text
    text = json.dumps(proof.json(), ensure_ascii=False)
    assert request["holder"] not in text and request["holder_id"] not in text and "salt" not in text
    body = proof.json()
    assert body["format"] == "certledger/public-proof/1" and body["record_included"] is False
    assert re.fullmatch(r"0x[0-9a-f]{64}", body["root"]) and body["summary"]["identifier"] == ident
    verified = api.client.post("/public/verify", json=body).json()  # the Python verifier reads it as verifier-js
    assert verified["verdict"] == "VALID", verified
    assert {c["name"]: c["reason"] for c in verified["checks"] if c["status"] == "SKIPPED"} == {
        "record_integrity": "no_record", "seal_intact": "no_record", "document_digest": "no_record"}


def test_a_superseded_certificate_links_to_its_current_version(api: Api) -> None:
    old = _issue(api, valid_until="2026-12-31")["identifier"]
    Anchorer(api.env.lib).run_once(force=True)
    r = api.call("POST", f"/departments/certificates/{old}/renew", "market",
                 json={"reason": "有效期延续", "valid_until": "2031-12-31"})
    assert r.status_code == 201, r.text
    page = api.client.get(f"/verify/{old}", headers=BROWSER).text
    assert "无效" in page and f'href="/verify/{r.json()["identifier"]}"' in page and "核验当前版本" in page


def test_unknown_and_malformed_identifiers_get_a_page_and_english_on_request(api: Api) -> None:
    page = api.client.get("/verify/1.2.3", headers=BROWSER)
    assert page.status_code == 422 and "无法核验" in page.text and "identifier_malformed" in page.text
    error = api.client.get("/verify/1.2.3", headers={"Accept-Language": "en"}).json()["error"]
    assert error["code"] == "identifier_malformed" and error["message"].startswith("The identifier is malformed")
    zh = api.client.get("/verify/1.2.3").json()["error"]
    assert zh["message"].startswith("证照标识格式不正确")


def _verifier_installed() -> bool:
    from api.verify_page import HAS_VERIFIER

    return HAS_VERIFIER
