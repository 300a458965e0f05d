"""Verification over HTTP: counters by identifier, bundle and PDF upload; the public by bundle and QR address."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from api.schemas.verification import VerificationOut
from ledger.core.identifiers import make_identifier, parse_identifier
from ledger.issue.anchoring import Anchorer
from ledger.verify.fragments import REQUIRED
from tests.api.conftest import Api, assert_error, stored_rows
from tests.fixtures.library import sample_request

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


@dataclass
class Issued:
    plain: dict[str, Any]  # anchored, no document
    rendered: dict[str, Any]  # anchored, with a sealed PDF
    pending: dict[str, Any]  # issued after the anchoring run
    pdf: bytes
    bundle: dict[str, Any]


@pytest.fixture(scope="module")
def issued(api: Api) -> Issued:
    licence = api.env.types["business_licence"]

    def issue(document: str) -> dict[str, Any]:
        r = api.call("POST", "/departments/certificates", "market", json=sample_request(licence, document=document))
        assert r.status_code == 201, r.text
        return r.json()

    plain, rendered = issue("none"), issue("render")
    Anchorer(api.env.lib).run_once(force=True)
    pending = issue("none")
    pdf = api.call("GET", f"/departments/certificates/{rendered['identifier']}/document", "market").content
    r = api.call("GET", f"/departments/certificates/{plain['identifier']}/bundle", "market")
    assert r.status_code == 200, r.text
    return Issued(plain, rendered, pending, pdf, r.json())


def _checks(body: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in body["checks"]}


def _valid(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "VALID", body
    assert all(_checks(body)[name] == "VALID" for name in REQUIRED)
    return body


def test_anchored_certificate_shows_its_anchor(api: Api, issued: Issued) -> None:
    got = api.call("GET", f"/departments/certificates/{issued.plain['identifier']}", "market").json()
    assert got["anchor"]["status"] == "anchored" and got["anchor"]["block_number"] > 0
    assert got["anchor"]["root"] == issued.bundle["root"]


def test_counter_verifies_by_identifier(api: Api, issued: Issued) -> None:
    body = _valid(api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": issued.plain["identifier"]}))
    assert _checks(body)["document_digest"] == "SKIPPED"
    assert body["certificate"]["identifier"] == issued.plain["identifier"]
    # served without re-validation, the answer is still exactly a VerificationOut
    assert VerificationOut.model_validate(body).model_dump(mode="json") == body
    by_bundle = api.call("POST", "/counters/verify/bundle", "counter", json=issued.bundle).json()
    assert by_bundle["checks"] == body["checks"]


def test_counter_verifies_a_bundle_and_the_public_too(api: Api, issued: Issued) -> None:
    _valid(api.call("POST", "/counters/verify/bundle", "counter", json=issued.bundle))
    _valid(api.call("POST", "/public/verify", json=issued.bundle))


def test_counter_verifies_an_uploaded_pdf(api: Api, issued: Issued) -> None:
    body = _valid(api.call("POST", "/counters/verify/pdf", "counter",
                           files={"file": ("licence.pdf", issued.pdf, "application/pdf")}))
    assert _checks(body)["document_digest"] == "VALID"
    assert body["certificate"]["identifier"] == issued.rendered["identifier"]


def test_qr_address_verifies_without_personal_data(api: Api, issued: Issued) -> None:
    body = _valid(api.call("GET", f"/verify/{issued.rendered['identifier']}"))
    assert body["certificate"]["identifier"] == issued.rendered["identifier"]
    assert "holder" not in body["certificate"] and "holder_id" not in str(body["certificate"])


def test_a_changed_field_fails_record_integrity(api: Api, issued: Issued) -> None:
    tampered = copy.deepcopy(issued.bundle)
    tampered["record"]["holder"] = "李四"
    r = api.call("POST", "/counters/verify/bundle", "counter", json=tampered)
    assert r.status_code == 200 and r.json()["verdict"] == "INVALID"
    assert _checks(r.json())["record_integrity"] == "INVALID"


def test_a_queued_certificate_is_not_yet_valid(api: Api, issued: Issued) -> None:
    r = api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": issued.pending["identifier"]})
    assert r.status_code == 200 and r.json()["verdict"] == "PENDING", r.text
    assert _checks(r.json())["merkle_proof"] == "SKIPPED"
    assert r.json()["certificate"]["expected_anchoring_by"]


def test_bad_verification_input_is_refused_and_stores_nothing(api: Api, issued: Issued) -> None:
    before = stored_rows(api.env.lib)
    assert_error(api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": "1.2.3"}),
                 422, "identifier_malformed")
    parts = parse_identifier(issued.plain["identifier"])
    unknown = make_identifier(parts.type_code, parts.issuer_code, "20999999998", 1)
    assert_error(api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": unknown}),
                 404, "certificate_not_found")
    broken = {k: v for k, v in issued.bundle.items() if k != "proof"}
    assert_error(api.call("POST", "/counters/verify/bundle", "counter", json=broken), 422, "bundle_malformed")
    assert_error(api.call("POST", "/public/verify", json=broken), 422, "bundle_malformed")
    assert_error(api.call("POST", "/public/verify", json=[1, 2]), 422, "request_invalid")
    assert_error(api.call("POST", "/counters/verify/pdf", "counter",
                          files={"file": ("licence.pdf", b"PK\x03\x04 a zip file", "application/pdf")}),
                 422, "pdf_not_pdf")
    assert_error(api.call("POST", "/counters/verify/identifier", json={"identifier": issued.plain["identifier"]}),
                 401, "api_key_missing")
    assert stored_rows(api.env.lib) == before
