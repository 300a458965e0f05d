"""Holders over HTTP: their own PDF and proof bundle (nobody else's), a use code's QR as SVG, and share links that
are time-limited, revocable and limited to chosen fields; every opening is an anchored entry of the holder's
access log, and the public address shows only what was shared (a page for a browser, JSON otherwise)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from ledger.holders import sharing
from ledger.issue.anchoring import Anchorer
from ledger.storage.models import ShareLink
from tests.api.conftest import Api, assert_error, new_uscc
from tests.api.test_holders import bearer, issue
from tests.fixtures.library import sample_request


@pytest.fixture(scope="module")
def holder(api: Api) -> dict[str, Any]:
    uscc = new_uscc("91")
    request = sample_request(api.env.types["business_licence"], document="render", holder="分享测试科技有限公司",
                             holder_id=uscc, holder_id_type="001")
    r = api.call("POST", "/departments/certificates", "market", json=request)
    assert r.status_code == 201, r.text
    licence = r.json()["identifier"]
    other = issue(api, "market", "business_licence", new_uscc("91"))  # someone else's
    Anchorer(api.env.lib).run_once(force=True)
    token = api.call("POST", "/holders/tokens", "admin", json={"id_type": "001", "id_number": uscc}).json()["token"]
    return {"uscc": uscc, "licence": licence, "other": other, "token": token, "fields": request["fields"]}


def test_holder_downloads_only_their_own(api: Api, holder: dict[str, Any]) -> None:
    auth = bearer(holder["token"])
    pdf = api.client.get(f"/holders/me/certificates/{holder['licence']}/document", headers=auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:200]
    bundle = api.client.get(f"/holders/me/certificates/{holder['licence']}/bundle", headers=auth)
    assert bundle.status_code == 200 and bundle.json()["record"]["identifier"] == holder["licence"]
    verified = api.client.post("/public/verify", json=bundle.json())
    assert verified.json()["verdict"] == "VALID", verified.text
    for what in ("document", "bundle"):
        assert_error(api.client.get(f"/holders/me/certificates/{holder['other']}/{what}", headers=auth),
                     404, "certificate_not_found")
    assert_error(api.client.get(f"/holders/me/certificates/{holder['licence']}/bundle"), 401, "holder_token_missing")
    code = api.client.post("/holders/me/use-codes", headers=auth).json()
    assert code["qr_svg"].startswith("<svg") and "<path" in code["qr_svg"]


def test_share_link_shows_only_chosen_fields_and_logs_each_opening(api: Api, holder: dict[str, Any]) -> None:
    auth = bearer(holder["token"])
    r = api.client.post("/holders/me/share-links", headers=auth, json={
        "identifier": holder["licence"], "fields": ["holder", "fields.legal_representative"], "ttl_hours": 2,
        "label": "给房东"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["state"] == "active" and made["url"].endswith("/shared/" + made["token"])
    assert made["qr_svg"].startswith("<svg")
    path = "/shared/" + made["token"]

    shown = api.client.get(path, headers={"Accept": "application/json"})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["verdict"] == "VALID" and body["identifier"] == holder["licence"]
    assert [(f["key"], f["label"], f["value"]) for f in body["fields"]] == [
        ("holder", "持证主体", "分享测试科技有限公司"),
        ("fields.legal_representative", "法定代表人（负责人、经营者）", holder["fields"]["legal_representative"])]
    assert holder["uscc"] not in shown.text and holder["fields"]["address"] not in shown.text

    page = api.client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "有效" in page.text and "分享测试科技有限公司" in page.text and holder["uscc"] not in page.text

    log = api.client.get("/holders/me/access-log", headers=auth).json()["items"]
    openings = [e for e in log if e["kind"] == "share_opening"]
    assert len(openings) == 2 and openings[0]["share_link"] == made["id"]
    assert openings[0]["fields"] == ["holder", "fields.legal_representative"]
    assert [c["identifier"] for c in openings[0]["certificates"]] == [holder["licence"]]
    Anchorer(api.env.lib).run_once(force=True)
    anchor = api.client.get(f"/holders/me/access-log/{openings[0]['id']}/anchor", headers=auth)
    assert anchor.status_code == 200 and anchor.json()["verdict"] == "VALID", anchor.text
    listed = api.client.get("/holders/me/share-links", headers=auth).json()["items"]
    assert listed[0]["id"] == made["id"] and listed[0]["openings"] == 2 and "token" not in listed[0]

    r = api.client.post(f"/holders/me/share-links/{made['id']}/revoke", headers=auth)
    assert r.status_code == 200 and r.json()["items"][0]["state"] == "revoked"
    assert_error(api.client.get(path, headers={"Accept": "application/json"}), 410, "share_link_revoked")
    refused = api.client.get(path, headers={"Accept": "text/html"})
    assert refused.status_code == 410 and "无法打开" in refused.text
    assert len([e for e in api.client.get("/holders/me/access-log", headers=auth).json()["items"]
                if e["kind"] == "share_opening"]) == 2  # a refused opening logs nothing


def test_share_link_refusals(api: Api, holder: dict[str, Any]) -> None:
    auth = bearer(holder["token"])
    all_fields = api.client.post("/holders/me/share-links", headers=auth, json={"identifier": holder["licence"]})
    assert all_fields.status_code == 201
    with api.env.lib.sessions() as session, session.begin():
        session.execute(update(ShareLink).where(ShareLink.id == all_fields.json()["id"])
                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert_error(api.client.get("/shared/" + all_fields.json()["token"], headers={"Accept": "application/json"}),
                 410, "share_link_expired")
    assert_error(api.client.get("/shared/shr_nosuchlink", headers={"Accept": "application/json"}),
                 404, "share_link_unknown")
    assert_error(api.client.post("/holders/me/share-links", headers=auth, json={
        "identifier": holder["other"]}), 404, "certificate_not_found")
    assert_error(api.client.post("/holders/me/share-links", headers=auth, json={
        "identifier": holder["licence"], "fields": ["holder_id"]}), 422, "share_fields_invalid")
    assert_error(api.client.post("/holders/me/share-links/999999/revoke", headers=auth), 404, "share_link_not_found")
    with pytest.raises(Exception) as short:
        sharing.create(api.env.lib, b"\0" * 32, holder["licence"], ttl=dt.timedelta(minutes=1))
    assert getattr(short.value, "code", None) == "share_ttl_invalid"
