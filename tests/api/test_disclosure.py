"""Minimum necessary disclosure (issue 11): who sees which personal data, and guessing that is locked out."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.core.identifiers import make_identifier, parse_identifier
from ledger.core.masking import mask_id, mask_name, masked_holder
from ledger.holders import attempts
from ledger.holders.usecodes import ALPHABET
from ledger.issue.anchoring import Anchorer
from ledger.storage.models import AccessLogEntry, ApiKey, KeyFailure, Organization
from tests.api.conftest import Api, assert_error, new_uscc
from tests.api.test_holders import holder, intake, use_code  # noqa: F401  (holder is a fixture)
from tests.fixtures.library import sample_request

COUNTER_ROUTES = [("POST", "/counters/verify/identifier", {"json": {"identifier": "x"}}),
                  ("POST", "/counters/verify/bundle", {"json": {}}),
                  ("POST", "/counters/verify/pdf", {"files": {"file": ("x.pdf", b"%PDF-1.7", "application/pdf")}}),
                  ("GET", "/counters/certificates/x/history", {}),
                  ("POST", "/counters/intakes", {"json": {}})]
INTAKES = select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.use_code_id.is_not(None))  # not lookups


def fresh_counter_key(api: Api) -> str:
    """A counter of its own, so that its failures count apart from the shared counter key's."""
    r = api.call("POST", "/admin/organizations", "admin",
                 json={"kind": "counter", "name": f"窗口{uuid.uuid4().hex[:6]}", "uscc": new_uscc()})
    r = api.call("POST", f"/admin/organizations/{r.json()['id']}/api-keys", "admin", json={"roles": ["counter"]})
    return r.json()["key"]


def test_masking_keeps_only_what_identifies_the_certificate() -> None:
    assert (mask_name("张三"), mask_name("张小三"), mask_name("欧阳小锋"), mask_name("王")) == ("张*", "张*三", "欧**锋", "*")
    assert mask_name("长沙示例科技有限公司", organisation=True) == "长沙**公司"
    assert mask_id("430102199001010016") == "430***********0016"
    assert masked_holder({"holder": "张小三", "holder_id": "430102199001010016", "holder_id_type": "111"}) == {
        "holder": "张*三", "holder_id": "430***********0016", "holder_id_type": "111"}


@pytest.mark.parametrize("who", ["market", "admin"])
def test_only_counter_keys_call_counter_routes(api: Api, who: str) -> None:
    for method, path, kwargs in COUNTER_ROUTES:
        assert_error(api.call(method, path, who, **kwargs), 403, "role_forbidden")
    assert_error(api.call("GET", "/departments/certificates", "counter"), 403, "role_forbidden")


def test_a_bare_identifier_answers_no_personal_data(api: Api) -> None:
    licence = api.env.types["business_licence"]
    request = sample_request(licence)
    identifier = api.call("POST", "/departments/certificates", "market", json=request).json()["identifier"]
    r = api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": identifier})
    assert r.status_code == 200, r.text
    shown = r.json()["certificate"]
    assert shown["identifier"] == identifier and shown["issuing_department_code"] == api.env.departments["market"].uscc
    assert shown["holder"] == mask_name(request["holder"], organisation=True) != request["holder"]
    assert "fields" not in shown and "jurisdiction_code" not in shown
    assert not any(str(v) in r.text for v in request["fields"].values() if len(str(v)) > 3)
    public = api.call("GET", f"/verify/{identifier}").json()["certificate"]
    assert "holder" not in public and "fields" not in public


def test_the_consented_intake_discloses_and_logs(api: Api, holder: dict[str, Any]) -> None:  # noqa: F811
    with api.env.lib.sessions() as session:
        before = session.scalar(INTAKES)
    r = intake(api, holder, use_code(api, holder["token"])["code"])
    assert r.status_code == 201, r.text
    shown = r.json()["materials"][0]["certificate"]
    assert shown["holder"] and "*" not in shown["holder"] and shown["fields"]
    with api.env.lib.sessions() as session:
        assert session.scalar(INTAKES) == before + 1
    assert r.json()["access_log_entry"]["certificates"] == [holder["licence"], holder["estate"]]


def test_another_holders_code_answers_as_no_code_at_all(api: Api, holder: dict[str, Any]) -> None:  # noqa: F811
    code = use_code(api, holder["token"])["code"]
    stranger = {"id_type": "001", "id_number": new_uscc("91")}
    theirs = intake(api, holder, code, holder=stranger)
    unknown = intake(api, holder, "ABCD-EFGH-JK23", holder=stranger)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()


def test_wrong_use_codes_lock_the_key_out(api: Api, holder: dict[str, Any]) -> None:  # noqa: F811
    api.keys["guesser"] = fresh_counter_key(api)
    for n in range(attempts.USE_CODES.limit):
        assert_error(intake(api, holder, f"ABCD-EFGH-J{ALPHABET[n]}23", who="guesser"), 404, "use_code_unknown")
    r = intake(api, holder, use_code(api, holder["token"])["code"], who="guesser")  # even a right one now
    assert_error(r, 429, "use_code_attempts_exceeded")
    assert 0 < int(r.headers["Retry-After"]) <= 600
    assert intake(api, holder, use_code(api, holder["token"])["code"]).status_code == 201  # other keys are not


def test_enumerating_identifiers_is_slowed_and_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    key = fresh_counter_key(api)
    licence = api.env.types["business_licence"]
    known = api.call("POST", "/departments/certificates", "market", json=sample_request(licence)).json()["identifier"]
    parts = parse_identifier(known)
    for n in range(attempts.IDENTIFIERS.limit):  # a loop over serials, as identifiers are predictable
        guess = make_identifier(parts.type_code, parts.issuer_code, f"2019{n:07d}", 1)
        r = api.call("POST", "/counters/verify/identifier", headers={"X-API-Key": key}, json={"identifier": guess})
        assert_error(r, 404, "certificate_not_found")
    r = api.call("GET", f"/counters/certificates/{known}/history", headers={"X-API-Key": key})
    assert_error(r, 429, "unknown_identifier_attempts_exceeded")
    assert any("locked out" in rec.getMessage() for rec in caplog.records)
    with api.env.lib.sessions() as session:
        assert session.scalar(select(func.count()).select_from(KeyFailure).where(
            KeyFailure.key_prefix == key[:12], KeyFailure.kind == "unknown_identifier")) == attempts.IDENTIFIERS.limit


def test_a_masked_lookup_is_in_the_holders_access_log(api: Api, holder: dict[str, Any]) -> None:  # noqa: F811
    """Who looked the holder's certificate up by its bare identifier: the counter (named, as in its intakes) or the
    public (no address), when, how often, masked; anchored like every entry."""
    token = {"Authorization": f"Bearer {holder['token']}"}

    def lookups() -> list[dict[str, Any]]:
        r = api.client.get("/holders/me/access-log", params={"identifier": holder["licence"]}, headers=token)
        assert r.status_code == 200, r.text
        return [e for e in r.json()["items"] if e["kind"] == "lookup"]

    assert lookups() == []
    for _ in range(3):  # the route first, then the lean path (remembered)
        r = api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": holder["licence"]})
        assert r.status_code == 200 and "*" in r.json()["certificate"]["holder"]
    assert api.call("GET", f"/verify/{holder['licence']}").status_code == 200  # JSON: no holder shown, not logged
    page = api.call("GET", f"/verify/{holder['licence']}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "已隐去" in page.text
    other = api.call("POST", "/departments/certificates", "market",
                     json=sample_request(api.env.types["business_licence"])).json()["identifier"]
    assert api.call("POST", "/counters/verify/identifier", "counter", json={"identifier": other}).status_code == 200
    seen = lookups()
    by_counter = [e for e in seen if e["counter"] is not None]
    public = [e for e in seen if e["counter"] is None]
    assert sum(e["lookups"] for e in by_counter) == 3 and sum(e["lookups"] for e in public) == 1
    assert {e["counter"]["uscc"] for e in by_counter} == {_counter_uscc(api)}
    assert all(e["certificates"] == [{"identifier": holder["licence"], "name": "营业执照"}] for e in seen)
    assert all(e["service_item"] is None and e["case_number"] is None and e["fields"] is None for e in seen)
    assert other not in str(lookups())  # another holder's certificate is in their log, not this one's
    with api.env.lib.sessions() as session:  # the row names no counter: a row with one is an intake (plan figures)
        assert session.scalar(select(AccessLogEntry.counter_org_id).where(AccessLogEntry.id == public[0]["id"])) is None
    Anchorer(api.env.lib).run_once(force=True)
    anchor = api.client.get(f"/holders/me/access-log/{public[0]['id']}/anchor", headers=token).json()
    assert anchor["verdict"] == "VALID", anchor["checks"]
    assert anchor["record"]["who"] == "public" and anchor["record"]["counter"] is None
    assert anchor["record"]["shown"] == "masked" and anchor["record"]["format"] == "certledger/access-lookup/1"


def _counter_uscc(api: Api) -> str:
    with api.env.lib.sessions() as session:
        return session.scalar(select(Organization.uscc).join(ApiKey, ApiKey.org_id == Organization.id)
                              .where(ApiKey.prefix == api.keys["counter"][:12]))
