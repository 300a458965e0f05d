"""Input that once answered 500 (issue 11) answers 4xx, or a named failed check, and text is sealed as sent."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from sqlalchemy import select

from ledger.core.errors import BadInput
from ledger.core.text import clean_text
from ledger.issue.anchoring import Anchorer
from ledger.storage.models import Organization
from tests.api.conftest import Api, assert_error
from tests.fixtures.library import sample_request

ZONED = re.compile(r"(Z|[+-]\d\d:\d\d)$")


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_out_of_range_integers_are_422(api: Api, value: int) -> None:
    for who, path in [("market", f"/departments/certificates?after={value}"),
                      ("admin", f"/admin/organizations/{value}/seals"),
                      ("admin", f"/admin/organizations/{value}/activate")]:
        method = "POST" if path.endswith("activate") else "GET"
        assert_error(api.call(method, path, who), 422, "request_invalid")


def test_every_integer_path_parameter_is_bounded(api: Api) -> None:
    """Every route with an integer id in its path, found from the OpenAPI schema (so a route added later is
    covered): 2**63 there is refused with a 4xx under every role's key, never a database overflow."""
    routes = [(method.upper(), path) for path, item in api.client.app.openapi()["paths"].items()
              for method, op in item.items()
              if any(p["in"] == "path" and p["schema"].get("type") == "integer" for p in op.get("parameters", []))]
    assert len(routes) >= 8
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", str(2**63), path)
        for who in ("admin", "market", "counter"):
            r = api.call(method, url, who)
            assert r.status_code < 500, (method, path, who, r.status_code, r.text)


@pytest.mark.parametrize("bad", ["\x00", "\u202e", "\u200b", "\x85", "\u2066", "\x07", "\ufeff"])
def test_hidden_and_control_characters_are_refused(api: Api, bad: str) -> None:
    licence = api.env.types["business_licence"]
    r = api.call("POST", "/departments/certificates", "market", json=sample_request(licence, holder=f"示例{bad}公司"))
    error = assert_error(r, 422, "text_invalid")
    assert error["details"]["field"] == "holder"
    with pytest.raises(BadInput):
        clean_text(f"a{bad}b", "fields.x", multiline=True)


def test_text_is_nfc_normalised_before_sealing(api: Api) -> None:
    licence = api.env.types["business_licence"]
    decomposed = "Cafe\u0301示例有限公司"
    r = api.call("POST", "/departments/certificates", "market", json=sample_request(licence, holder=decomposed))
    assert r.status_code == 201, r.text
    record = api.call("GET", f"/departments/certificates/{r.json()['identifier']}", "market").json()
    assert record["metadata"]["holder"] == unicodedata.normalize("NFC", decomposed) != decomposed
    assert clean_text("第一行\n第二行\t", "f", multiline=True) == "第一行\n第二行\t"


def test_a_field_nested_1000_deep_is_refused(api: Api) -> None:
    licence = api.env.types["business_licence"]
    body = sample_request(licence)
    body["fields"] = {"deep": "__X__"}
    raw = json.dumps(body).replace('"__X__"', "[" * 1000 + '"x"' + "]" * 1000)
    r = api.call("POST", "/departments/certificates", "market", content=raw,
                 headers={"Content-Type": "application/json"})
    assert_error(r, 422, "json_too_deep")


def test_rotating_the_platform_seal_is_a_clear_refusal(api: Api) -> None:
    with api.env.lib.sessions() as session:
        platform = session.scalars(select(Organization).where(Organization.kind == "platform")).first()
    r = api.call("POST", f"/admin/organizations/{platform.id}/seals/rotate", "admin")
    assert_error(r, 422, "organization_has_no_seal")


def test_anchored_at_always_carries_a_time_zone(api: Api) -> None:
    licence = api.env.types["business_licence"]
    r = api.call("POST", "/departments/certificates", "market", json=sample_request(licence))
    identifier = r.json()["identifier"]
    Anchorer(api.env.lib).run_once(force=True)
    anchor = api.call("GET", f"/departments/certificates/{identifier}", "market").json()["anchor"]
    assert anchor["status"] == "anchored" and ZONED.search(anchor["anchored_at"]), anchor


def test_a_pdf_update_with_a_dangling_reference_is_a_named_failed_check(api: Api) -> None:
    licence = api.env.types["business_licence"]
    r = api.call("POST", "/departments/certificates", "market", json=sample_request(licence, document="render"))
    pdf = api.call("GET", f"/departments/certificates/{r.json()['identifier']}/document", "market").content
    start = pdf.rindex(b"startxref")
    prev = int(pdf[start + 9:].split()[0])
    root = re.search(rb"/Root\s+(\d+\s+\d+\s+R)", pdf).group(1)
    size = max(int(n) for n in re.findall(rb"/Size\s+(\d+)", pdf))
    body = b"\n%d 0 obj\n<< /Type /Annot /Parent 9999 0 R /P 8888 0 R >>\nendobj\n" % size
    offset = len(pdf) + 1
    xref = b"xref\n%d 1\n%010d 00000 n \n" % (size, offset)
    info = re.search(rb"/Info\s+(\d+\s+\d+\s+R)", pdf).group(1)
    trailer = b"trailer\n<< /Size %d /Root %s /Prev %d /Info %s >>\n" % (size + 1, root, prev, info)
    updated = pdf + body + xref + trailer + b"startxref\n%d\n%%%%EOF\n" % (len(pdf) + len(body))
    r = api.call("POST", "/counters/verify/pdf", "counter", files={"file": ("x.pdf", updated, "application/pdf")})
    assert r.status_code == 200, r.text
    failed = {c["name"]: c["reason"] for c in r.json()["checks"] if c["status"] != "VALID"}
    assert r.json()["verdict"] != "VALID" and failed, failed
    dangling_info = updated.replace(b"/Info %s >>" % info, b"/Info 7777 0 R >>")
    r = api.call("POST", "/counters/verify/pdf", "counter", files={"file": ("x.pdf", dangling_info, "application/pdf")})
    assert_error(r, 404, "pdf_certificate_unknown")


def test_a_body_the_framework_cannot_parse_is_a_documented_422(api: Api) -> None:
    r = api.call("POST", "/counters/verify/pdf", "counter", content=b"garbage",
                 headers={"Content-Type": "multipart/form-data; boundary=xx"})
    assert_error(r, 422, "request_malformed")


def test_docs_are_served_from_packaged_assets(api: Api) -> None:
    page = api.call("GET", "/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text.replace("https://fastapi.tiangolo.com", "")
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.call("GET", f"/docs-assets/{asset}").status_code == 200
