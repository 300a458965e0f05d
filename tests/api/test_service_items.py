"""Service items over HTTP: the admin defines and redefines them with their materials; any key reads
them; the coverage report (share of materials linked to a certificate type) is computed from the real
catalogue; bad definitions are a clear 4xx and change nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from ledger.core.catalogue import DATA, department_uscc
from tests.api.conftest import Api, assert_error, new_uscc

CATALOGUE = json.loads((DATA / "service-items.json").read_text(encoding="utf-8"))


def _code() -> str:
    return f"T-{uuid.uuid4().hex[:12].upper()}"


@pytest.fixture(scope="module")
def department(api: Api) -> dict[str, Any]:
    """A department of its own, so its coverage is exactly what this module defines."""
    r = api.call("POST", "/admin/organizations", "admin",
                 json={"kind": "department", "name": f"市示例服务局{uuid.uuid4().hex[:6]}", "uscc": new_uscc("11")})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def types(api: Api) -> dict[str, str]:
    return {"licence": api.env.types["business_licence"].code, "estate": api.env.types["real_estate"].code}


def _item(department: dict[str, Any], types: dict[str, str], **overrides: Any) -> dict[str, Any]:
    item = {
        "code": _code(), "name": "示例事项：食品经营许可", "department": department["uscc"], "holder_kind": "legal_entity",
        "materials": [
            {"name": "营业执照", "required": True, "certificate_type": types["licence"]},
            {"name": "经营场所产权证明", "required": False, "certificate_type": types["estate"]},
            {"name": "食品安全管理制度", "required": True, "certificate_type": None},
        ],
    }
    item.update(overrides)
    return item


def test_define_get_list_and_redefine(api: Api, department: dict[str, Any], types: dict[str, str]) -> None:
    item = _item(department, types)
    r = api.call("POST", "/admin/service-items", "admin", json=item)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["code"] == item["code"] and out["department_uscc"] == department["uscc"]
    assert out["department_name"] == department["name"]
    assert [(m["position"], m["name"], m["required"], m["certificate_type_code"]) for m in out["materials"]] == [
        (0, "营业执照", True, types["licence"]), (1, "经营场所产权证明", False, types["estate"]),
        (2, "食品安全管理制度", True, None)]
    assert out["materials"][0]["certificate_type_name"] == "营业执照"
    # any key reads service items (counters open intakes for them)
    for who in ("counter", "market"):
        got = api.call("GET", f"/admin/service-items/{item['code']}", who)
        assert got.status_code == 200 and got.json() == out
    listed = api.call("GET", "/admin/service-items", "counter", params={"department": department["uscc"]}).json()
    assert item["code"] in {i["code"] for i in listed["items"]}
    assert all(i["department_uscc"] == department["uscc"] for i in listed["items"])

    assert_error(api.call("POST", "/admin/service-items", "admin", json=item), 409, "service_item_exists")
    body = {k: v for k, v in item.items() if k != "code"}
    body["materials"] = [{"name": "营业执照", "certificate_type": types["licence"]}]
    r = api.call("PUT", f"/admin/service-items/{item['code']}", "admin", json=body)
    assert r.status_code == 200, r.text
    assert [(m["name"], m["required"]) for m in r.json()["materials"]] == [("营业执照", True)]
    assert api.call("GET", f"/admin/service-items/{item['code']}", "admin").json() == r.json()


def test_catalogue_items_are_listed_with_their_materials(api: Api) -> None:
    items = {i["code"]: i for i in api.call("GET", "/admin/service-items", "admin").json()["items"]}
    for expected in CATALOGUE:
        got = items[expected["code"]]
        assert got["name"] == expected["name"] and got["holder_kind"] == expected["holder_kind"]
        assert got["department_uscc"] == department_uscc(expected["department"])
        assert [(m["name"], m["required"], m["certificate_type_name"]) for m in got["materials"]] == [
            (m["name"], m["required"], m["certificate_type"]) for m in expected["materials"]]


def test_coverage_of_the_catalogue(api: Api) -> None:
    r = api.call("GET", "/admin/material-coverage", "admin")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["target"] == 1.0
    items = {i["code"]: i for i in report["items"]}
    for expected in CATALOGUE:
        linked = [m for m in expected["materials"] if m["certificate_type"]]
        got = items[expected["code"]]
        assert (got["materials"], got["linked"]) == (len(expected["materials"]), len(linked))
        assert got["share"] == round(len(linked) / len(expected["materials"]), 4)
        assert got["unlinked"] == [m["name"] for m in expected["materials"] if not m["certificate_type"]]
        assert got["meets_target"] == (len(linked) == len(expected["materials"]))
    # the packaged catalogue: 213 materials of 31 items, 166 linked (77.9%)
    assert sum(len(i["materials"]) for i in CATALOGUE) == 213 and len(CATALOGUE) == 31
    assert sum(items[i["code"]]["linked"] for i in CATALOGUE) == 166
    overall = report["overall"]
    assert overall["materials"] == sum(i["materials"] for i in report["items"]) >= 213
    assert overall["linked"] == sum(i["linked"] for i in report["items"]) >= 166
    assert overall["share"] == round(overall["linked"] / overall["materials"], 4)
    assert overall["meets_target"] is False
    assert sum(d["materials"] for d in report["departments"]) == overall["materials"]
    assert report["required_only"]["materials"] <= overall["materials"]
    market = next(d for d in report["departments"] if d["uscc"] == department_uscc("市场监督管理局"))
    assert market["items"] == sum(1 for i in report["items"] if i["department_uscc"] == market["uscc"])


def test_coverage_of_one_department_reaches_the_target(api: Api, types: dict[str, str]) -> None:
    r = api.call("POST", "/admin/organizations", "admin",
                 json={"kind": "department", "name": f"市示例覆盖局{uuid.uuid4().hex[:6]}", "uscc": new_uscc("11")})
    dept = r.json()
    a, b = _item(dept, types), _item(dept, types, materials=[{"name": "不动产权证书", "certificate_type": types["estate"]}])
    for item in (a, b):
        assert api.call("POST", "/admin/service-items", "admin", json=item).status_code == 201

    def coverage() -> dict[str, Any]:
        return api.call("GET", "/admin/material-coverage", "admin", params={"department": dept["uscc"]}).json()

    report = coverage()
    assert report["overall"] == {"materials": 4, "linked": 3, "share": 0.75, "meets_target": False}
    assert report["required_only"] == {"materials": 3, "linked": 2, "share": 0.6667, "meets_target": False}
    assert report["departments"] == [{"uscc": dept["uscc"], "name": dept["name"], "items": 2, "materials": 4,
                                      "linked": 3, "share": 0.75, "meets_target": False}]
    assert {i["code"]: i["unlinked"] for i in report["items"]} == {a["code"]: ["食品安全管理制度"], b["code"]: []}
    a["materials"][2]["certificate_type"] = types["licence"]
    body = {k: v for k, v in a.items() if k != "code"}
    assert api.call("PUT", f"/admin/service-items/{a['code']}", "admin", json=body).status_code == 200
    report = coverage()
    assert report["overall"] == {"materials": 4, "linked": 4, "share": 1.0, "meets_target": True}


def test_bad_definitions_change_nothing(api: Api, department: dict[str, Any], types: dict[str, str]) -> None:
    good = _item(department, types)
    code = department["uscc"]
    wrong_check = code[:-1] + ("1" if code[-1] == "0" else "0")
    cases = [
        ({**good, "code": "含空格 code"}, 422, "service_item_code_invalid"),
        ({**good, "department": "91430100MA4L0XXXX"}, 422, "department_invalid"),
        ({**good, "department": "91430100MA4L0XXXX18"}, 422, "request_invalid"),
        ({**good, "department": new_uscc("11")}, 422, "department_unknown"),
        ({**good, "department": wrong_check}, 422, "department_invalid"),
        ({**good, "holder_kind": "robot"}, 422, "request_invalid"),
        ({**good, "materials": []}, 422, "request_invalid"),
        ({**good, "materials": [{"name": "x", "certificate_type": "114301007463904398999"}]}, 422,
         "certificate_type_unknown"),
        ({**good, "materials": [{"name": "x", "certificate_type": "not-a-code"}]}, 422, "certificate_type_unknown"),
        ({**good, "materials": [{"name": "x"}, {"name": "x"}]}, 422, "material_duplicate"),
    ]
    for body, status, code in cases:
        assert_error(api.call("POST", "/admin/service-items", "admin", json=body), status, code)
        assert_error(api.call("GET", f"/admin/service-items/{body['code']}", "admin"), 404, "service_item_not_found")
    assert_error(api.call("POST", "/admin/service-items", "market", json=good), 403, "role_forbidden")
    assert_error(api.call("GET", "/admin/material-coverage", "counter"), 403, "role_forbidden")
    assert_error(api.call("GET", f"/admin/service-items/{good['code']}", "admin"), 404, "service_item_not_found")


@pytest.mark.parametrize("module", ["api.schemas.service_items", "api.schemas.reports"])
def test_schema_examples_are_valid_instances(module: str) -> None:
    import importlib

    from api.schemas.common import Model

    checked = 0
    for model in vars(importlib.import_module(module)).values():
        if isinstance(model, type) and issubclass(model, Model) and model.__module__ == module:
            for example in (model.model_config.get("json_schema_extra") or {}).get("examples", []):
                model.model_validate(example)
                checked += 1
    assert checked >= 5
