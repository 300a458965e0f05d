"""Lifecycle over HTTP against the real chain, on SQLite and PostgreSQL: suspend, reinstate, revoke,
cancel, withdraw (one and many), renew, amend, history; and every refusal is a clear 4xx that
changes nothing, neither in the database nor on chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.core.identifiers import make_identifier, make_serial, parse_identifier
from ledger.issue.anchoring import Anchorer
from ledger.storage.models import Certificate, CertificateEvent, Organization
from ledger.verify.stored import load_certificate
from tests.api.conftest import Api, assert_error, stored_rows
from tests.fixtures.library import sample_request

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")

HISTORY_KEYS = {"at", "action", "status", "reason", "tx_hash", "block_number", "identifier"}


def _issue(api: Api, n: int = 1, who: str = "market", *, anchor: bool = True, **overrides: Any) -> list[str]:
    ctype = api.env.types["business_licence" if who == "market" else "real_estate"]
    requests = [sample_request(ctype, **overrides) for _ in range(n)]
    r = api.call("POST", "/departments/certificates/batch", who, json={"certificates": requests})
    assert r.status_code == 201, r.text
    if anchor:
        Anchorer(api.env.lib).run_once(force=True)
    return [c["identifier"] for c in r.json()["certificates"]]


def _status(api: Api, ident: str, action: str, who: str = "market", reason: str = "测试") -> Any:
    return api.call("POST", f"/departments/certificates/{ident}/status", who,
                    json={"action": action, "reason": reason})


def _verify(api: Api, ident: str) -> dict[str, Any]:
    r = api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": ident})
    assert r.status_code == 200, r.text
    return r.json()


def _check(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["name"] == name)


def _state(api: Api, ident: str) -> tuple[str, int, int]:
    """(DB status, chain status, number of history rows) of a certificate: what a refusal must not change."""
    lib = api.env.lib
    with lib.sessions() as session:
        cert = session.execute(select(Certificate).where(Certificate.identifier == ident)).scalar_one()
        events = session.scalar(select(func.count()).select_from(CertificateEvent)
                                .where(CertificateEvent.certificate_id == cert.id))
        batch = load_certificate(lib, ident)[1]
        root = batch.root if batch else None
        issuer = session.get(Organization, cert.issuer_org_id).chain_address
    chain = lib.contract.status_of(issuer, root, cert.leaf) if root is not None else 0
    return cert.status, chain, events


def test_suspend_reinstate_revoke(api: Api) -> None:
    (ident,) = _issue(api)
    assert _verify(api, ident)["verdict"] == "VALID"

    r = _status(api, ident, "suspend", reason="经营异常")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "02" and body["changed"] == 1 and len(body["transactions"]) == 1
    assert body["transactions"][0]["tx_hash"].startswith("0x") and body["gas_used"] > 0
    assert _state(api, ident)[:2] == ("02", 2)
    result = _verify(api, ident)
    assert result["verdict"] == "INVALID" and _check(result, "status")["reason"] == "suspended"
    assert api.call("GET", f"/departments/certificates/{ident}", "market").json()["status"] == "02"

    assert _status(api, ident, "reinstate").status_code == 200
    assert _state(api, ident)[:2] == ("01", 1)
    assert _verify(api, ident)["verdict"] == "VALID"

    assert _status(api, ident, "revoke").status_code == 200
    assert _state(api, ident)[:2] == ("03", 3)
    assert _check(_verify(api, ident), "status")["reason"] == "revoked"

    before = _state(api, ident)
    error = assert_error(_status(api, ident, "reinstate"), 409, "status_transition_not_allowed")
    assert "only a suspended (02) certificate can be reinstated" in error["message"]
    assert_error(_status(api, ident, "suspend"), 409, "status_transition_not_allowed")
    assert _state(api, ident) == before

    # the same revocation again is a no-op, not an error: retries are safe
    again = _status(api, ident, "revoke").json()
    assert again["unchanged"] == 1 and again["changed"] == 0 and again["transactions"] == []
    assert _state(api, ident) == before


def test_cancel_and_withdraw(api: Api) -> None:
    cancelled, withdrawn = _issue(api, 2)
    assert _status(api, cancelled, "cancel").json()["status"] == "04"
    assert _status(api, withdrawn, "withdraw").json()["status"] == "07"
    assert _state(api, cancelled)[:2] == ("04", 4) and _state(api, withdrawn)[:2] == ("07", 7)
    assert _check(_verify(api, cancelled), "status")["reason"] == "cancelled"
    assert _check(_verify(api, withdrawn), "status")["reason"] == "withdrawn"
    history = api.call("GET", f"/departments/certificates/{withdrawn}/history", "market").json()
    assert [e["action"] for e in history["events"]] == ["issue", "withdraw"]
    assert history["events"][1]["reason"] == "测试" and history["events"][1]["actor"].startswith("api:clk_")


def test_mass_revoke_in_one_transaction_and_again_as_a_no_op(api: Api) -> None:
    idents = _issue(api, 20) + _issue(api, 15)  # two batches: two roots
    r = api.call("POST", "/departments/certificates/status", "market",
                 json={"action": "revoke", "reason": "批量注销", "identifiers": idents})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["certificates"] == body["changed"] == 35 and len(body["transactions"]) == 1
    assert body["transactions"][0]["certificates"] == 35
    assert all(_state(api, i)[:2] == ("03", 3) for i in idents)

    again = api.call("POST", "/departments/certificates/status", "market",
                     json={"action": "revoke", "reason": "批量注销", "identifiers": idents}).json()
    assert again["unchanged"] == 35 and again["transactions"] == []


def test_renew_supersedes_and_verification_names_the_current_version(api: Api) -> None:
    (old,) = _issue(api, valid_until="2026-12-31")
    r = api.call("POST", f"/departments/certificates/{old}/renew", "market",
                 json={"reason": "有效期延续", "valid_until": "2031-12-31"})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["supersedes"] == old and new["version"] == 2 and new["superseded_tx_hash"].startswith("0x")
    assert new["identifier"].split(".")[:-2] == old.split(".")[:-2]  # same type, issuer and serial
    assert new["identifier"].split(".")[-2] == "002"
    assert _state(api, old)[:2] == ("08", 8)

    status = _check(_verify(api, old), "status")
    assert status["reason"] == "superseded" and status["data"]["current_version"] == new["identifier"]
    assert new["identifier"] in status["message"]

    Anchorer(api.env.lib).run_once(force=True)
    renewed = _verify(api, new["identifier"])
    assert renewed["verdict"] == "VALID", renewed
    assert renewed["certificate"]["valid_until"] == "2031-12-31" and renewed["certificate"]["version"] == 2
    got = api.call("GET", f"/departments/certificates/{new['identifier']}", "market").json()
    assert got["version"] == 2 and got["status"] == "01"

    for ident in (old, new["identifier"]):
        r = api.call("GET", f"/counters/certificates/{ident}/history", "counter")
        assert r.status_code == 200, r.text
        history = r.json()
        assert set(history) == {"identifier", "current_version", "events"}
        assert history["identifier"] == ident and history["current_version"] == new["identifier"]
        events = history["events"]
        assert [(e["action"], e["status"], e["identifier"]) for e in events] == [
            ("issue", "01", old), ("renew", "08", old), ("issue", "01", new["identifier"])]
        assert all(HISTORY_KEYS <= set(e) for e in events) and "actor" not in events[0]
        assert events[1]["tx_hash"] == new["superseded_tx_hash"] and events[2]["tx_hash"] is not None

    error = assert_error(api.call("POST", f"/departments/certificates/{old}/renew", "market",
                                  json={"reason": "again", "valid_until": "2032-12-31"}), 409, "certificate_superseded")
    assert new["identifier"] in error["message"]


def test_amend_makes_versions_and_refuses_a_new_holder(api: Api) -> None:
    (v1,) = _issue(api)
    r = api.call("POST", f"/departments/certificates/{v1}/amend", "market",
                 json={"reason": "住所变更", "fields": {"address": "长沙市岳麓区示例路2号"}})
    assert r.status_code == 201, r.text
    v2 = r.json()["identifier"]
    Anchorer(api.env.lib).run_once(force=True)
    got = api.call("GET", f"/departments/certificates/{v2}", "market").json()
    assert got["metadata"]["fields"]["address"] == "长沙市岳麓区示例路2号" and got["version"] == 2

    before_rows, before_v2 = stored_rows(api.env.lib), _state(api, v2)
    holder = sample_request(api.env.types["business_licence"])
    for change in ({"holder_id": holder["holder_id"]}, {"holder_id": holder["holder_id"], "holder": holder["holder"]}):
        error = assert_error(api.call("POST", f"/departments/certificates/{v2}/amend", "market",
                                      json={"reason": "换人", **change}), 422, "amendment_changes_holder")
        assert "cannot change the holder" in error["message"]
    assert_error(api.call("POST", f"/departments/certificates/{v2}/amend", "market",
                          json={"reason": "nothing", "fields": {}}), 422, "amendment_empty")
    assert_error(api.call("POST", f"/departments/certificates/{v2}/amend", "market",
                          json={"reason": "number", "number": "X1"}), 422, "request_invalid")
    assert stored_rows(api.env.lib) == before_rows and _state(api, v2) == before_v2

    r = api.call("POST", f"/departments/certificates/{v2}/amend", "market",
                 json={"reason": "更名", "holder": "示例更名有限公司"})
    assert r.status_code == 201, r.text
    v3 = r.json()["identifier"]
    assert v3.split(".")[-2] == "003"
    assert _check(_verify(api, v1), "status")["data"]["current_version"] == v3
    history = api.call("GET", f"/counters/certificates/{v1}/history", "counter").json()
    assert history["current_version"] == v3
    assert [e["action"] for e in history["events"]] == ["issue", "amend", "issue", "amend", "issue"]


def test_only_the_issuing_department_may_act(api: Api) -> None:
    mine = _issue(api, 2)
    before = [_state(api, i) for i in mine]
    rows = stored_rows(api.env.lib)
    assert_error(_status(api, mine[0], "revoke", who="land"), 403, "not_your_certificate")
    for op, body in (("renew", {"reason": "x", "valid_until": "2030-01-01"}), ("amend", {"reason": "x", "fields": {"a": 1}})):
        assert_error(api.call("POST", f"/departments/certificates/{mine[0]}/{op}", "land", json=body),
                     403, "not_your_certificate")
    assert_error(api.call("GET", f"/departments/certificates/{mine[0]}/history", "land"), 403, "not_your_certificate")
    land_own = _issue(api, 1, who="land")
    assert_error(api.call("POST", "/departments/certificates/status", "land",
                          json={"action": "revoke", "reason": "x", "identifiers": [*land_own, mine[1]]}),
                 403, "not_your_certificate")
    assert _state(api, land_own[0])[:2] == ("01", 1)  # the whole call was refused, its own one included
    assert_error(_status(api, mine[0], "revoke", who="counter"), 403, "role_forbidden")
    assert [_state(api, i) for i in mine] == before and stored_rows(api.env.lib)[0] == rows[0] + 1


def test_unknown_malformed_and_unanchored(api: Api) -> None:
    (ident,) = _issue(api)
    known = parse_identifier(ident)
    unknown = make_identifier(known.type_code, known.issuer_code, make_serial(2099, 9_999_999), 1)
    assert_error(_status(api, unknown, "revoke"), 404, "certificate_not_found")
    assert_error(api.call("GET", f"/counters/certificates/{unknown}/history", "counter"), 404, "certificate_not_found")
    assert_error(api.call("POST", "/departments/certificates/status", "market",
                          json={"action": "revoke", "reason": "x", "identifiers": [ident, unknown]}),
                 404, "certificate_not_found")
    assert _state(api, ident)[:2] == ("01", 1)
    assert_error(_status(api, ident[:-1] + ("A" if ident[-1] != "A" else "B"), "revoke"), 422, "identifier_check_failed")
    assert_error(api.call("POST", f"/departments/certificates/{ident}/status", "market",
                          json={"action": "expire", "reason": "x"}), 422, "request_invalid")

    (queued,) = _issue(api, anchor=False)
    rows = stored_rows(api.env.lib)
    error = assert_error(_status(api, queued, "suspend"), 409, "certificate_not_anchored")
    assert "certledger anchor --now" in error["message"]
    assert_error(api.call("POST", f"/departments/certificates/{queued}/renew", "market",
                          json={"reason": "x", "valid_until": "2030-01-01"}), 409, "certificate_not_anchored")
    assert stored_rows(api.env.lib) == rows


def test_expiry_is_shown_without_a_transaction(api: Api) -> None:
    (ident,) = _issue(api, issue_date="2020-01-01", valid_until="2021-01-01")
    got = api.call("GET", f"/departments/certificates/{ident}", "market").json()
    assert got["status"] == "05" and got["metadata"]["status"] == "05"
    assert _state(api, ident)[:2] == ("01", 1)  # nothing written anywhere
    listed = api.call("GET", "/departments/certificates", "market", params={"limit": 500}).json()["items"]
    assert next(c for c in listed if c["identifier"] == ident)["status"] == "05"
    assert _check(_verify(api, ident), "validity_period")["reason"] == "expired"
    # an expired certificate can still be renewed: the new version is valid again
    r = api.call("POST", f"/departments/certificates/{ident}/renew", "market",
                 json={"reason": "延续", "valid_until": (dt.date.today() + dt.timedelta(days=3650)).isoformat()})
    assert r.status_code == 201, r.text
    Anchorer(api.env.lib).run_once(force=True)
    assert _verify(api, r.json()["identifier"])["verdict"] == "VALID"
