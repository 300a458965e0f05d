"""Departments over HTTP: issue one and many, get, list own, fetch the document; and every bad input
gives a clear 4xx with a machine-readable code and stores nothing."""

from __future__ import annotations

import base64
import hashlib

import pytest

from api.schemas.certificates import CertificatePage
from ledger.core.identifiers import make_identifier, parse_identifier
from ledger.issue.anchoring import Anchorer
from tests.api.conftest import Api, assert_error, stored_rows
from tests.fixtures.library import sample_request


def _licence(api: Api, **overrides: object) -> dict:
    return sample_request(api.env.types["business_licence"], **overrides)


def test_issue_one_get_and_list_own(api: Api) -> None:
    request = _licence(api)
    r = api.call("POST", "/departments/certificates", "market", json=request)
    assert r.status_code == 201, r.text
    issued = r.json()
    ident = parse_identifier(issued["identifier"])
    assert ident.type_code == request["type_code"] and ident.issuer_code == api.env.departments["market"].uscc
    assert issued["number"] == request["number"] and issued["status"] == "01" and issued["anchor_status"] == "queued"
    assert issued["document"] is None and issued["leaf"].startswith("0x")

    got = api.call("GET", f"/departments/certificates/{issued['identifier']}", "market").json()
    assert got["identifier"] == issued["identifier"] and got["metadata"]["holder"] == request["holder"]
    assert got["metadata"]["fields"]["legal_representative"] == request["fields"]["legal_representative"]
    assert got["anchor"]["status"] in ("queued", "pending", "sent", "anchored")

    page = api.call("GET", "/departments/certificates", "market", params={"limit": 500}).json()
    assert issued["identifier"] in {c["identifier"] for c in page["items"]}
    land_page = api.call("GET", "/departments/certificates", "land", params={"limit": 500}).json()
    assert issued["identifier"] not in {c["identifier"] for c in land_page["items"]}


def test_list_pages_with_a_cursor(api: Api) -> None:
    for _ in range(3):
        assert api.call("POST", "/departments/certificates", "market", json=_licence(api)).status_code == 201
    first = api.call("GET", "/departments/certificates", "market", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_after"] is not None
    second = api.call("GET", "/departments/certificates", "market", params={"limit": 2, "after": first["next_after"]}).json()
    assert not {c["identifier"] for c in first["items"]} & {c["identifier"] for c in second["items"]}


def test_a_list_page_writes_each_certificate_as_the_one_certificate_route_does(api: Api) -> None:
    """The page is written without its model (for speed): each item, anchored or queued, with a document or none, is
    the very bytes the model writes for that certificate on its own route, and what CertificatePage writes of it."""
    anchored = [api.call("POST", "/departments/certificates", "market", json=_licence(api)).json()["identifier"]
                for _ in range(2)]
    Anchorer(api.env.lib).run_once(force=True)
    queued = api.call("POST", "/departments/certificates", "market",
                      json=_licence(api, document="render")).json()["identifier"]
    page = api.call("GET", "/departments/certificates", "market", params={"limit": 3})
    assert page.status_code == 200 and page.headers["content-type"] == "application/json"
    items = page.json()["items"]
    assert [i["identifier"] for i in items] == [queued, *reversed(anchored)]
    assert [i["anchor"]["status"] for i in items] == ["queued", "anchored", "anchored"]
    assert [i["document"] is not None for i in items] == [True, False, False]
    for item in items:
        one = api.call("GET", f"/departments/certificates/{item['identifier']}", "market")
        assert one.status_code == 200 and one.content in page.content
    assert CertificatePage.model_validate_json(page.content).model_dump_json().encode() == page.content


def test_issue_many_is_all_or_nothing(api: Api) -> None:
    requests = [_licence(api) for _ in range(5)]
    r = api.call("POST", "/departments/certificates/batch", "market", json={"certificates": requests})
    assert r.status_code == 201, r.text
    issued = r.json()["certificates"]
    assert [c["number"] for c in issued] == [q["number"] for q in requests]
    assert len({c["identifier"] for c in issued}) == 5

    before = stored_rows(api.env.lib)
    bad = [_licence(api) for _ in range(3)]
    bad[2]["fields"] = {}
    error = assert_error(api.call("POST", "/departments/certificates/batch", "market", json={"certificates": bad}),
                         422, "field_missing")
    assert error["details"]["index"] == 2
    assert stored_rows(api.env.lib) == before


def test_rendered_document_is_sealed_stored_and_fetched(api: Api) -> None:
    r = api.call("POST", "/departments/certificates", "market", json=_licence(api, document="render"))
    assert r.status_code == 201, r.text
    issued = r.json()
    r = api.call("GET", f"/departments/certificates/{issued['identifier']}/document", "market")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert hashlib.sha256(r.content).hexdigest() == issued["document"]["sha256"]
    assert_error(api.call("GET", f"/departments/certificates/{issued['identifier']}/document", "land"),
                 403, "not_your_certificate")


def test_a_department_acts_only_on_its_own(api: Api) -> None:
    issued = api.call("POST", "/departments/certificates", "market", json=_licence(api)).json()
    assert_error(api.call("GET", f"/departments/certificates/{issued['identifier']}", "land"), 403, "not_your_certificate")
    assert_error(api.call("GET", f"/departments/certificates/{issued['identifier']}/bundle", "land"),
                 403, "not_your_certificate")
    before = stored_rows(api.env.lib)
    # the land department may not issue the market department's business licence
    assert_error(api.call("POST", "/departments/certificates", "land", json=_licence(api)), 403, "type_not_issuable")
    assert stored_rows(api.env.lib) == before


def _refused(api: Api, request: dict, status: int, code: str) -> dict:
    before = stored_rows(api.env.lib)
    error = assert_error(api.call("POST", "/departments/certificates", "market", json=request), status, code)
    assert stored_rows(api.env.lib) == before
    return error


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"type_code": "114301007463904398999"}, 422, "type_code_unknown"),
    ({"type_code": "not-a-type-code"}, 422, "type_code_invalid"),
    ({"fields": {"legal_representative": "张三"}}, 422, "field_missing"),
    ({"fields_extra": {"entity_type": "no such kind"}}, 422, "field_invalid"),
    ({"fields_extra": {"no_such_field": "x"}}, 422, "field_unknown"),
    ({"holder_id": "11430100303989522A"}, 422, "field_invalid"),
    ({"issue_date": "2024-02-30"}, 422, "request_invalid"),
    ({"colour": "red"}, 422, "request_invalid"),
    ({"document": base64.b64encode(b"GIF89a not a pdf").decode()}, 422, "pdf_not_pdf"),
])
def test_bad_issue_requests_store_nothing(api: Api, change: dict, status: int, code: str) -> None:
    request = _licence(api)
    change = dict(change)  # the parameters are shared by both database runs
    request["fields"] = {**request["fields"], **change.pop("fields_extra", {})}
    request.update(change)
    error = _refused(api, request, status, code)
    if code.startswith("field_"):
        assert error["details"]["field"]


def test_missing_required_metadata_is_named(api: Api) -> None:
    request = _licence(api)
    del request["holder"]
    error = _refused(api, request, 422, "request_invalid")
    assert error["details"]["errors"][0]["field"] == "body.holder"


def test_a_duplicate_certificate_number_is_refused(api: Api) -> None:
    request = _licence(api)
    assert api.call("POST", "/departments/certificates", "market", json=request).status_code == 201
    _refused(api, request, 409, "certificate_duplicate")
    before = stored_rows(api.env.lib)
    twice = _licence(api)
    assert_error(api.call("POST", "/departments/certificates/batch", "market", json={"certificates": [twice, twice]}),
                 409, "certificate_duplicate")
    assert stored_rows(api.env.lib) == before


def test_malformed_and_unknown_identifiers(api: Api) -> None:
    assert_error(api.call("GET", "/departments/certificates/1.2.156.3005.2.nonsense", "market"), 422, "identifier_malformed")
    issued = api.call("POST", "/departments/certificates", "market", json=_licence(api)).json()
    ident = issued["identifier"]
    wrong_check = ident[:-1] + ("A" if ident[-1] != "A" else "B")
    assert_error(api.call("GET", f"/departments/certificates/{wrong_check}", "market"), 422, "identifier_check_failed")
    parts = parse_identifier(ident)
    unknown = make_identifier(parts.type_code, parts.issuer_code, "20999999999", 1)
    assert_error(api.call("GET", f"/departments/certificates/{unknown}", "market"), 404, "certificate_not_found")
