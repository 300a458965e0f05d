"""Administration over HTTP: an organisation's API keys listed, revoked and rotated; a counter staff member's own
key names them in the holder's access log; a holder's tokens revoked. Refusals are 4xx that change nothing."""

from __future__ import annotations

import uuid

from ledger.issue.anchoring import Anchorer
from tests.api.conftest import Api, assert_error, new_uscc
from tests.api.test_holders import bearer, intake, issue, use_code


def _counter(api: Api) -> int:
    r = api.call("POST", "/admin/organizations", "admin",
                 json={"kind": "counter", "name": "政务服务中心三号窗口", "uscc": new_uscc()})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_list_revoke_and_rotate_keys(api: Api) -> None:
    org = _counter(api)
    r = api.call("POST", f"/admin/organizations/{org}/api-keys", "admin", json={"roles": ["counter"]})
    assert r.status_code == 201, r.text
    key, prefix = r.json()["key"], r.json()["prefix"]
    assert key.startswith(prefix)
    r = api.call("GET", f"/admin/organizations/{org}/api-keys", "admin")
    assert r.status_code == 200, r.text
    listed = r.json()["items"]
    assert [(k["prefix"], k["roles"], k["revoked_at"]) for k in listed] == [(prefix, ["counter"], None)]
    assert key not in r.text

    ok = api.client.get("/counters/reports", headers={"X-API-Key": key})
    assert ok.status_code == 200, ok.text
    r = api.call("POST", f"/admin/organizations/{org}/api-keys/{prefix}/rotate", "admin")
    assert r.status_code == 201, r.text
    new_key = r.json()["key"]
    assert r.json()["roles"] == ["counter"] and new_key != key
    assert_error(api.client.get("/counters/reports", headers={"X-API-Key": key}), 401, "api_key_invalid")
    assert api.client.get("/counters/reports", headers={"X-API-Key": new_key}).status_code == 200

    new_prefix = r.json()["prefix"]
    r = api.call("POST", f"/admin/organizations/{org}/api-keys/{new_prefix}/revoke", "admin")
    assert r.status_code == 200 and r.json()["revoked"], r.text
    assert_error(api.client.get("/counters/reports", headers={"X-API-Key": new_key}), 401, "api_key_invalid")
    listed = api.call("GET", f"/admin/organizations/{org}/api-keys", "admin").json()["items"]
    assert all(k["revoked_at"] for k in listed) and len(listed) == 2

    assert_error(api.call("POST", f"/admin/organizations/{org}/api-keys/{new_prefix}/revoke", "admin"),
                 404, "api_key_not_found")
    assert_error(api.call("POST", f"/admin/organizations/{org}/api-keys/clk_nosuchkey/rotate", "admin"),
                 404, "api_key_not_found")
    assert_error(api.call("GET", "/admin/organizations/999999/api-keys", "admin"), 404, "organization_not_found")
    assert_error(api.call("GET", f"/admin/organizations/{org}/api-keys", "counter"), 403, "role_forbidden")
    market = api.env.departments["market"].id
    assert_error(api.call("POST", f"/admin/organizations/{market}/api-keys", "admin",
                          json={"roles": ["department"], "staff_id": "A1", "staff_name": "王五"}),
                 422, "staff_key_not_counter")
    assert_error(api.call("POST", f"/admin/organizations/{org}/api-keys", "admin",
                          json={"roles": ["counter"], "staff_id": "A1"}), 422, "staff_invalid")


def test_a_staff_members_key_names_them_in_the_access_log(api: Api) -> None:
    org = _counter(api)
    r = api.call("POST", f"/admin/organizations/{org}/api-keys", "admin",
                 json={"roles": ["counter"], "staff_id": "A0231", "staff_name": "李四"})
    assert r.status_code == 201 and r.json()["staff_name"] == "李四", r.text
    api.keys["staff"] = r.json()["key"]
    uscc = new_uscc("91")
    licence = issue(api, "market", "business_licence", uscc)
    Anchorer(api.env.lib).run_once(force=True)
    item = f"T{uuid.uuid4().hex[:10].upper()}"
    r = api.call("POST", "/admin/service-items", "admin", json={
        "code": item, "name": "开办企业（测试）", "department": api.env.departments["market"].uscc,
        "holder_kind": "legal_entity",
        "materials": [{"name": "营业执照", "certificate_type": api.env.types["business_licence"].code}]})
    assert r.status_code == 201, r.text
    token = api.call("POST", "/holders/tokens", "admin", json={"id_type": "001", "id_number": uscc}).json()["token"]
    h = {"uscc": uscc, "item": item}
    r = intake(api, h, use_code(api, token)["code"], who="staff", staff_id="SOMEONE-ELSE")
    assert r.status_code == 201, r.text
    assert r.json()["access_log_entry"]["staff_id"] == "A0231"
    seen = api.client.get("/holders/me/access-log", headers=bearer(token)).json()["items"][0]
    assert (seen["staff_id"], seen["staff_name"]) == ("A0231", "李四")
    assert [c["identifier"] for c in seen["certificates"]] == [licence]
    r = intake(api, h, use_code(api, token)["code"], staff_id=None)  # the shared counter key must say who
    assert_error(r, 422, "field_missing")

    r = api.call("POST", "/admin/holders/revoke-tokens", "admin", json={"id_type": "001", "id_number": uscc})
    assert r.status_code == 200, r.text
    assert_error(api.client.get("/holders/me/certificates", headers=bearer(token)), 401, "holder_token_revoked")
    fresh = api.call("POST", "/holders/tokens", "admin", json={"id_type": "001", "id_number": uscc}).json()["token"]
    assert api.client.get("/holders/me/certificates", headers=bearer(fresh)).status_code == 200
    assert_error(api.call("POST", "/admin/holders/revoke-tokens", "admin", json={"id_type": "001", "id_number": "x"}),
                 422, "field_invalid")
