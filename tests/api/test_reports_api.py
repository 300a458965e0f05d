"""Association report summaries over HTTP: submit, list and read own, fetch the document, export the
bundle; counters search and verify them; the public verifies a bundle; bad input is a clear 4xx and
stores nothing."""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from ledger.issue.anchoring import Anchorer
from ledger.storage.models import AnchorOutbox, ReportSummary
from tests.api.conftest import Api, assert_error, new_uscc
from tests.test_reports import summary


@dataclass
class Submitted:
    reports: list[dict[str, Any]]
    items: list[dict[str, Any]]
    document: bytes
    tag: str


def _path(identifier: str) -> str:
    return quote(identifier, safe="")


def _stored(api: Api) -> tuple[int, int]:
    with api.env.lib.sessions() as s:
        return (s.scalar(select(func.count()).select_from(ReportSummary)),
                s.scalar(select(func.count()).select_from(AnchorOutbox)  # not the lookups written meanwhile
                         .where(AnchorOutbox.kind != "access_log")))


def _association(api: Api, who: str) -> None:
    r = api.call("POST", "/admin/organizations", "admin",
                 json={"kind": "association", "name": f"市示例行业协会{who}", "uscc": new_uscc("51")})
    assert r.status_code == 201, r.text
    assert r.json()["chain_address"]
    r = api.call("POST", f"/admin/organizations/{r.json()['id']}/api-keys", "admin", json={"roles": ["association"]})
    assert r.status_code == 201, r.text
    api.keys[who] = r.json()["key"]


@pytest.fixture(scope="module")
def submitted(api: Api) -> Submitted:
    for who in ("association", "association2"):
        if who not in api.keys:
            _association(api, who)
    document = b"%PDF-1.7 " + os.urandom(3000)
    tag = uuid.uuid4().hex[:8]
    items = [summary(name=f"检测报告{tag}", document=base64.b64encode(document).decode(), document_sha256=None),
             summary(name=f"评估报告{tag}", kind="评估报告", report_date="2026-02-02")]
    r = api.call("POST", "/associations/reports", "association", json={"reports": items})
    assert r.status_code == 201, r.text
    Anchorer(api.env.lib).run_once(force=True)
    return Submitted(r.json()["reports"], items, document, tag)


def test_submit_answers_identifiers_and_documents(submitted: Submitted) -> None:
    first, second = submitted.reports
    assert first["identifier"].startswith("RS.") and first["identifier"].endswith("." + submitted.items[0]["number"])
    assert first["anchor_status"] == "queued" and first["leaf"].startswith("0x")
    assert first["document"]["sha256"] == first["document_sha256"] == hashlib.sha256(submitted.document).hexdigest()
    assert second["document"] is None and second["document_sha256"] == submitted.items[1]["document_sha256"]


def test_association_reads_its_own_only(api: Api, submitted: Submitted) -> None:
    ident = submitted.reports[0]["identifier"]
    got = api.call("GET", f"/associations/reports/{_path(ident)}", "association")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["name"] == submitted.items[0]["name"] and body["catalogue"] == submitted.items[0]["catalogue"]
    assert body["anchor"]["status"] == "anchored" and body["status"] == "01"
    page = api.call("GET", "/associations/reports", "association", params={"limit": 500}).json()
    assert ident in {r["identifier"] for r in page["items"]}
    assert ident not in {r["identifier"] for r in api.call("GET", "/associations/reports", "association2").json()["items"]}
    for suffix in ("", "/document", "/bundle"):
        assert_error(api.call("GET", f"/associations/reports/{_path(ident)}{suffix}", "association2"),
                     403, "not_your_report")
    doc = api.call("GET", f"/associations/reports/{_path(ident)}/document", "association")
    assert doc.status_code == 200 and doc.content == submitted.document
    assert doc.headers["content-type"] == "application/pdf"
    assert_error(api.call("GET", f"/associations/reports/{_path(submitted.reports[1]['identifier'])}/document",
                          "association"), 404, "document_not_found")


def test_counters_search_and_get(api: Api, submitted: Submitted) -> None:
    found = api.call("GET", "/counters/reports", "counter", params={"name": submitted.tag})
    assert found.status_code == 200, found.text
    assert [r["identifier"] for r in found.json()["items"]] == [r["identifier"] for r in submitted.reports[::-1]]
    by_number = api.call("GET", "/counters/reports", "counter", params={"number": submitted.items[1]["number"]}).json()
    assert [r["identifier"] for r in by_number["items"]] == [submitted.reports[1]["identifier"]]
    dated = api.call("GET", "/counters/reports", "counter",
                     params={"name": submitted.tag, "kind": "评估报告", "date_from": "2026-02-01",
                             "date_to": "2026-02-02"}).json()
    assert [r["number"] for r in dated["items"]] == [submitted.items[1]["number"]]
    paged = api.call("GET", "/counters/reports", "counter", params={"name": submitted.tag, "limit": 1}).json()
    assert len(paged["items"]) == 1 and paged["next_after"] is not None
    one = api.call("GET", f"/counters/reports/{_path(submitted.reports[1]['identifier'])}", "counter")
    assert one.status_code == 200 and one.json()["kind"] == "评估报告"
    assert_error(api.call("GET", "/counters/reports", "counter", params={"date_from": "yesterday"}),
                 422, "request_invalid")
    for other in ("association", "market", "admin"):  # keys are single-role: counter routes take counter keys
        assert_error(api.call("GET", "/counters/reports", other), 403, "role_forbidden")


@pytest.mark.parametrize(("query", "refused"), [
    ({"date_to": "0.0"}, "date_invalid"),  # the full fuzz run's case: pydantic took a number as a Unix time
    ({"date_from": "0"}, "date_invalid"),
    ({"date_to": "2026-02-02T00:00:00"}, "date_invalid"),
    ({"after": "6024235276152088.0"}, "integer_invalid"),
    ({"limit": "+5"}, "integer_invalid"),
    ({"limit": "1_0"}, "integer_invalid"),
])
def test_search_refuses_what_its_schema_forbids(api: Api, query: dict[str, str], refused: str) -> None:
    error = assert_error(api.call("GET", "/counters/reports", "counter", params=query), 422, "request_invalid")
    assert [(e["field"], e["type"]) for e in error["details"]["errors"]] == [(f"query.{next(iter(query))}", refused)]
    parameters = {p["name"]: p["schema"] for p in api.client.get("/openapi.json").json()["paths"]["/counters/reports"]
                  ["get"]["parameters"]}
    assert parameters["date_to"]["anyOf"][0] == {"type": "string", "format": "date"}
    assert parameters["limit"]["minimum"] == 1 and parameters["limit"]["maximum"] == 500


def test_counter_verifies_by_identifier_and_by_document(api: Api, submitted: Submitted) -> None:
    ident = submitted.reports[0]["identifier"]
    r = api.call("POST", "/counters/verify/report", "counter", json={"identifier": ident})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["verdict"] == "VALID", result
    checks = {c["name"]: c for c in result["checks"]}
    assert checks["anchor_on_chain"]["reason"] == "anchored_by_association"
    assert checks["anchor_on_chain"]["data"]["batch_kind"] == "REPORT_SUMMARIES"
    assert checks["anchor_issuer"]["status"] == "VALID" and checks["seal"]["status"] == "VALID"
    assert result["certificate"]["identifier"] == ident
    r = api.call("POST", "/counters/verify/report-document", "counter",
                 files={"file": ("report.pdf", submitted.document, "application/pdf")})
    assert r.status_code == 200 and r.json()["verdict"] == "VALID", r.text
    checks = {c["name"]: c for c in r.json()["checks"]}
    assert checks["document_digest"]["reason"] == "digest_matches"
    assert_error(api.call("POST", "/counters/verify/report-document", "counter",
                          files={"file": ("x.pdf", b"%PDF-1.7 unknown", "application/pdf")}),
                 404, "report_document_unknown")
    assert_error(api.call("POST", "/counters/verify/report-document", "counter",
                          files={"file": ("empty.pdf", b"", "application/pdf")}),
                 422, "document_empty")
    assert_error(api.call("POST", "/counters/verify/report", "counter", json={"identifier": "RS.nothing"}),
                 422, "report_identifier_invalid")


def test_bundle_verifies_at_counters_and_publicly_and_tampering_fails(api: Api, submitted: Submitted) -> None:
    ident = submitted.reports[1]["identifier"]
    r = api.call("GET", f"/associations/reports/{_path(ident)}/bundle", "association")
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert api.call("POST", "/public/verify", json=bundle).json()["verdict"] == "VALID"
    assert api.call("POST", "/counters/verify/bundle", "counter", json=bundle).json()["verdict"] == "VALID"
    tampered = copy.deepcopy(bundle)
    tampered["record"]["subject"] = "另一个对象"
    result = api.call("POST", "/public/verify", json=tampered).json()
    assert result["verdict"] == "INVALID"
    assert {c["name"]: c["reason"] for c in result["checks"]}["record_integrity"] == "leaf_mismatch"


def test_only_associations_submit(api: Api, submitted: Submitted) -> None:
    before = _stored(api)
    for who in ("market", "counter", "admin"):
        assert_error(api.call("POST", "/associations/reports", who, json={"reports": [summary()]}),
                     403, "role_forbidden")
    assert_error(api.call("POST", "/associations/reports", json={"reports": [summary()]}), 401, "api_key_missing")
    assert _stored(api) == before


def test_bad_batches_store_nothing(api: Api, submitted: Submitted) -> None:
    before = _stored(api)
    taken = submitted.items[0]["number"]
    cases = [
        ({"reports": []}, 422, "request_invalid"),
        ({"reports": [summary(), {**summary(), "report_date": "2026-02-30"}]}, 422, "request_invalid"),
        ({"reports": [summary(), {**summary(), "extra": 1}]}, 422, "request_invalid"),
        ({"reports": [summary(), summary(number="bad/number")]}, 422, "report_number_invalid"),
        ({"reports": [summary(), summary(document_sha256=None)]}, 422, "document_sha256_missing"),
        ({"reports": [summary(), summary(document=base64.b64encode(b"x").decode())]}, 422, "document_digest_mismatch"),
        ({"reports": [summary(number="DUP-1"), summary(number="DUP-1")]}, 409, "report_duplicate"),
        ({"reports": [summary(), summary(number=taken)]}, 409, "report_duplicate"),
    ]
    for body, status, code in cases:
        assert_error(api.call("POST", "/associations/reports", "association", json=body), status, code)
    assert _stored(api) == before
    assert_error(api.call("GET", f"/associations/reports/{_path('RS.' + '0' * 18 + '.X')}", "association"),
                 422, "report_identifier_invalid")
