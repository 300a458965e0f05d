"""API keys and roles, the admin routes, health, and the shared error shape."""

from __future__ import annotations

from tests.api.conftest import Api, assert_error, new_uscc


def test_liveness_asks_nothing_and_readiness_reports_each_dependency(api: Api) -> None:
    assert api.call("GET", "/healthz").json() == {"status": "ok"}
    r = api.call("GET", "/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and isinstance(body["workers"], list)
    assert {c["name"]: c["status"] for c in body["checks"]} == {
        "database": "VALID", "migrations": "VALID", "chain": "VALID", "ipfs": "VALID"}


def test_keys_are_required_and_checked(api: Api) -> None:
    assert_error(api.call("GET", "/departments/certificates"), 401, "api_key_missing")
    assert_error(api.call("GET", "/departments/certificates", headers={"X-API-Key": "clk_not-a-real-key"}),
                 401, "api_key_invalid")
    assert_error(api.call("GET", "/departments/certificates", headers={"X-API-Key": "garbage"}), 401, "api_key_invalid")


def test_roles_decide_what_a_key_may_call(api: Api) -> None:
    error = assert_error(api.call("GET", "/departments/certificates", "counter"), 403, "role_forbidden")
    assert error["details"]["required"] == ["department"]
    assert_error(api.call("GET", "/admin/organizations", "market"), 403, "role_forbidden")
    assert_error(api.call("POST", "/admin/organizations/1/api-keys", "market", json={"roles": ["admin"]}),
                 403, "role_forbidden")


def test_admin_creates_organisations_and_keys(api: Api) -> None:
    uscc = new_uscc()
    r = api.call("POST", "/admin/organizations", "admin", json={"kind": "counter", "name": "二号窗口", "uscc": uscc})
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["uscc"] == uscc and org["kind"] == "counter" and org["chain_address"] is None
    assert api.call("GET", f"/admin/organizations/{org['id']}", "admin").json() == org
    assert org in api.call("GET", "/admin/organizations?kind=counter", "admin").json()["items"]
    assert_error(api.call("POST", "/admin/organizations", "admin", json={"kind": "counter", "name": "again", "uscc": uscc}),
                 409, "organization_exists")
    assert_error(api.call("POST", "/admin/organizations", "admin",
                          json={"kind": "counter", "name": "bad", "uscc": uscc[:-1] + ("0" if uscc[-1] != "0" else "1")}),
                 422, "uscc_invalid")
    r = api.call("POST", f"/admin/organizations/{org['id']}/api-keys", "admin", json={"roles": ["counter"]})
    assert r.status_code == 201 and r.json()["key"].startswith("clk_")
    key = r.json()["key"]
    assert api.call("POST", "/counters/verify/identifier", headers={"X-API-Key": key},
                    json={"identifier": "nonsense"}).json()["error"]["code"] == "identifier_malformed"
    assert_error(api.call("POST", f"/admin/organizations/{org['id']}/api-keys", "admin", json={"roles": ["department"]}),
                 422, "roles_invalid")
    assert_error(api.call("GET", "/admin/organizations/999999", "admin"), 404, "organization_not_found")


def test_catalogue_is_readable_with_any_key(api: Api) -> None:
    licence = api.env.types["business_licence"]
    items = api.call("GET", "/admin/certificate-types", "counter").json()["items"]
    assert len(items) >= 100 and licence.code in {t["code"] for t in items}
    one = api.call("GET", f"/admin/certificate-types/{licence.code}", "market").json()
    assert one["name"] == "营业执照" and one["department_uscc"] == api.env.departments["market"].uscc
    assert any(f["key"] == "legal_representative" and f["label"] for f in one["fields"])
    assert_error(api.call("GET", f"/admin/certificate-types/{licence.code[:-3]}999", "market"),
                 404, "certificate_type_not_found")
    r = api.call("POST", "/admin/certificate-types/import", "admin")
    assert r.status_code == 200 and r.json()["certificate_types"] == len(items)


def test_every_error_has_the_same_shape(api: Api) -> None:
    assert_error(api.call("GET", "/no/such/route"), 404, "route_not_found")
    assert_error(api.call("DELETE", "/healthz"), 405, "method_not_allowed")
    error = assert_error(api.call("POST", "/admin/organizations", "admin", json={"kind": "bank", "name": ""}),
                         422, "request_invalid")
    fields = {e["field"] for e in error["details"]["errors"]}
    assert {"body.kind", "body.name", "body.uscc"} <= fields
    assert_error(api.call("POST", "/admin/organizations", "admin", content=b"{not json",
                          headers={"Content-Type": "application/json"}), 422, "request_invalid")
