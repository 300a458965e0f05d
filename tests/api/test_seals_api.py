"""Seal rotation and compromise end to end through the admin API, on the real chain: after a rotation the
older certificates still verify and new ones carry the new seal; after a compromise reported with a time,
what was sealed after it fails with a clear reason and what came before passes."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import select

from ledger.issue.anchoring import Anchorer
from ledger.storage.models import CertificateType, Organization
from ledger.verify.standalone import verify_bundle_standalone
from tests.api.conftest import Api, assert_error
from tests.fixtures.library import sample_request

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")

DEPARTMENT = "人民防空办公室"  # activated by this test only: its seal is rotated and compromised


def _issue_and_anchor(api: Api, key: str, ctype: CertificateType) -> str:
    r = api.client.post("/departments/certificates", headers={"X-API-Key": key}, json=sample_request(ctype))
    assert r.status_code == 201, r.text
    Anchorer(api.env.lib).run_once(force=True)
    return r.json()["identifier"]


def _verify(api: Api, ident: str) -> dict[str, Any]:
    r = api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": ident})
    assert r.status_code == 200, r.text
    return r.json()


def _check(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["name"] == name)


def _department(api: Api, name: str, algorithm: str | None = None) -> tuple[Organization, CertificateType, str]:
    """A catalogue department activated through the API (with a seal of ``algorithm``), its type and a key."""
    lib = api.env.lib
    with lib.sessions() as session:
        org = session.execute(select(Organization).where(Organization.name == name)).scalar_one()
        ctype = session.execute(select(CertificateType).where(CertificateType.department_id == org.id)).scalars().first()
    body = {"json": {"algorithm": algorithm}} if algorithm else {}
    r = api.call("POST", f"/admin/organizations/{org.id}/activate", "admin", **body)
    assert r.status_code == 200, r.text
    key = api.call("POST", f"/admin/organizations/{org.id}/api-keys", "admin", json={"roles": ["department"]}).json()["key"]
    return org, ctype, key


def _wait_for_chain_time(api: Api, moment: dt.datetime) -> None:
    """Block until the chain has a block stamped after ``moment``: its clock, not the wall clock, dates an anchor.

    Each try makes a block with an empty transfer from a local node's unlocked account (every test chain has them;
    ``evm_mine`` is not served by the Besu-like one)."""
    w3 = api.env.lib.chain.w3
    account = w3.eth.accounts[0]
    tick = {"from": account, "to": account, "value": 0, "gas": 21_000, "gasPrice": 0}
    deadline = time.monotonic() + 30
    while w3.eth.get_block("latest")["timestamp"] <= int(moment.timestamp()):
        assert time.monotonic() < deadline, "the chain's clock did not pass the compromise time within 30 s"
        time.sleep(0.25)
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(tick))


def _standalone(api: Api, ident: str, key: str) -> dict[str, Any]:
    bundle = api.client.get(f"/departments/certificates/{ident}/bundle", headers={"X-API-Key": key}).json()
    return verify_bundle_standalone(bundle, api.env.env["CERTLEDGER_RPC_URL"], api.env.trust()).to_dict()


def test_rotation_then_compromise(api: Api) -> None:
    """Rotation keeps former seals verifying; a compromise reported a second after an anchor leaves that certificate
    VALID (service and standalone), stops issuance until the seal is rotated, and voids what was queued under it."""
    lib = api.env.lib
    org, ctype, key = _department(api, DEPARTMENT)
    seals = api.call("GET", f"/admin/organizations/{org.id}/seals", "admin").json()["items"]
    assert len(seals) == 1 and seals[0]["current"] and seals[0]["compromise_time"] is None
    first = seals[0]

    before = _issue_and_anchor(api, key, ctype)
    assert _verify(api, before)["verdict"] == "VALID"

    r = api.call("POST", f"/admin/organizations/{org.id}/seals/rotate", "admin")
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["current"] and second["serial"] != first["serial"] and second["fingerprint"] != first["fingerprint"]
    seals = api.call("GET", f"/admin/organizations/{org.id}/seals", "admin").json()["items"]
    assert [s["serial"] for s in seals] == [second["serial"], first["serial"]] and not seals[1]["current"]

    after = _issue_and_anchor(api, key, ctype)
    old, new = _verify(api, before), _verify(api, after)
    assert old["verdict"] == "VALID" and new["verdict"] == "VALID", (old, new)
    assert _check(old, "anchor_issuer")["data"]["seal_fingerprint"] == first["fingerprint"]
    assert _check(new, "anchor_issuer")["data"]["seal_fingerprint"] == second["fingerprint"]
    r = api.client.post("/departments/certificates", headers={"X-API-Key": key}, json=sample_request(ctype))
    queued = r.json()["identifier"]  # sealed with the second seal, not anchored yet

    time.sleep(1.0)  # the compromise is reported a second after `after` was anchored
    when = dt.datetime.now(dt.UTC)
    r = api.call("POST", f"/admin/organizations/{org.id}/seals/compromise", "admin",
                 json={"serial": second["serial"], "compromise_time": when.isoformat()})
    assert r.status_code == 200, r.text
    assert dt.datetime.fromisoformat(r.json()["compromise_time"]) == when.replace(microsecond=0)
    fingerprint = bytes.fromhex(second["fingerprint"][2:])
    assert lib.contract.seal(fingerprint).compromise_time == int(when.timestamp())  # a revokeSeal transaction

    refused = assert_error(api.client.post("/departments/certificates", headers={"X-API-Key": key},
                                           json=sample_request(ctype)), 409, "seal_compromised")
    assert refused["message"].startswith("印章已报告泄露，请先更换印章") and "rotate" in refused["message"]
    for ident in (before, after):
        assert _verify(api, ident)["verdict"] == "VALID"
        standalone = _standalone(api, ident, key)
        assert standalone["verdict"] == "VALID", standalone
    assert _check(_verify(api, after), "seal_certificate_valid")["reason"] == "signed_before_compromise"
    assert _check(_standalone(api, after, key), "seal_certificate_valid")["reason"] == "signed_before_compromise"

    _wait_for_chain_time(api, when)  # the chain's clock may lag the wall clock: anchor clearly after the compromise
    third = api.call("POST", f"/admin/organizations/{org.id}/seals/rotate", "admin")
    assert third.status_code == 201, third.text
    Anchorer(lib).run_once(force=True)  # the queued leaf can only be anchored now, under the third seal: void
    void = _verify(api, queued)
    assert void["verdict"] == "INVALID" and _check(void, "anchor_issuer")["reason"] == "seal_not_current"
    assert _check(void, "seal_certificate_valid")["reason"] == "anchored_after_compromise"
    fresh = _issue_and_anchor(api, key, ctype)
    assert _verify(api, fresh)["verdict"] == "VALID"


def test_an_sm2_department_issues_and_verifies_through_the_api_and_standalone(api: Api) -> None:
    org, ctype, key = _department(api, "烟草专卖局", "sm2")
    seals = api.call("GET", f"/admin/organizations/{org.id}/seals", "admin").json()["items"]
    assert [s["algorithm"] for s in seals] == ["sm2"]
    rendered = api.client.post("/departments/certificates", headers={"X-API-Key": key},
                               json=sample_request(ctype, document="render"))
    assert_error(rendered, 422, "document_needs_p256_seal")
    ident = _issue_and_anchor(api, key, ctype)
    result = _verify(api, ident)
    assert result["verdict"] == "VALID", result
    assert _check(result, "seal_intact")["data"]["format"] == "gbt38540"
    standalone = _standalone(api, ident, key)
    assert standalone["verdict"] == "VALID", standalone
    bundle = api.client.get(f"/departments/certificates/{ident}/bundle", headers={"X-API-Key": key}).json()
    assert bundle["seal"]["format"] == "ses"
    r = api.call("POST", f"/admin/organizations/{org.id}/seals/rotate", "admin", json={"algorithm": "p256"})
    assert r.status_code == 201 and r.json()["algorithm"] == "p256", r.text
    assert_error(api.call("POST", f"/admin/organizations/{org.id}/seals/rotate", "admin",
                          json={"algorithm": "rsa"}), 422, "request_invalid")
    assert _verify(api, ident)["verdict"] == "VALID"  # the former SM2 seal still verifies what it sealed


def test_compromise_refuses_a_seal_of_another_organization(api: Api) -> None:
    market = api.env.departments["market"]
    land = api.env.departments["land"]
    market_seal = api.call("GET", f"/admin/organizations/{market.id}/seals", "admin").json()["items"][0]
    listed = api.call("GET", f"/admin/organizations/{land.id}/seals", "admin").json()
    body = {"serial": market_seal["serial"], "compromise_time": "2026-01-01T00:00:00Z"}
    assert_error(api.call("POST", f"/admin/organizations/{land.id}/seals/compromise", "admin", json=body),
                 422, "seal_not_of_organization")
    assert_error(api.call("POST", f"/admin/organizations/{land.id}/seals/compromise", "admin",
                          json={**body, "serial": "abc123"}), 404, "seal_certificate_not_found")
    assert_error(api.call("POST", f"/admin/organizations/{land.id}/seals/rotate", "market"), 403, "role_forbidden")
    assert api.call("GET", f"/admin/organizations/{land.id}/seals", "admin").json() == listed
    assert api.call("GET", f"/admin/organizations/{market.id}/seals", "admin").json()["items"][0] == market_seal
