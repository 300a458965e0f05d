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


def test_rotation_then_compromise(api: Api) -> None:
    lib = api.env.lib
    with lib.sessions() as session:
        org = session.execute(select(Organization).where(Organization.name == DEPARTMENT)).scalar_one()
        ctype = session.execute(select(CertificateType).where(CertificateType.department_id == org.id)).scalars().first()
    assert api.call("POST", f"/admin/organizations/{org.id}/activate", "admin").status_code == 200
    key = api.call("POST", f"/admin/organizations/{org.id}/api-keys", "admin", json={"roles": ["department"]}).json()["key"]
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

    # compromised a second after `after` was sealed and anchored (a block never carries a later second than the
    # wall clock: Anvil stamps the wall clock, Hardhat with allowBlocksWithSameTimestamp lags it)
    time.sleep(1.0)
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    r = api.call("POST", f"/admin/organizations/{org.id}/seals/compromise", "admin",
                 json={"serial": second["serial"], "compromise_time": when.isoformat()})
    assert r.status_code == 200, r.text
    assert dt.datetime.fromisoformat(r.json()["compromise_time"]) == when
    time.sleep(1.0)
    late = _issue_and_anchor(api, key, ctype)  # still sealed with the compromised seal
    failed = _verify(api, late)
    assert failed["verdict"] == "INVALID"
    assert _check(failed, "seal")["status"] == "INVALID"
    reason = _check(failed, "seal_certificate_valid")
    assert reason["reason"] in ("signed_after_compromise", "anchored_after_compromise"), reason
    assert "compromise" in reason["message"]
    for ident in (before, after):
        assert _verify(api, ident)["verdict"] == "VALID"
    assert _check(_verify(api, after), "seal_certificate_valid")["reason"] == "signed_before_compromise"


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
