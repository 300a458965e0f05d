"""Holders and counter intake over HTTP, against the real chain on SQLite and PostgreSQL.

Everything through the API: departments issue and revoke, the admin defines the service item and
issues the holder token, the holder lists certificates and makes a use code, the counter opens the
intake, the holder reads the access log and checks the entry's anchor. Refusals are clear 4xx
answers that change nothing; the CLI issues a token the API accepts.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from ledger.app.config import REPO_ROOT
from ledger.chain.contract import BatchKind
from ledger.holders import usecodes
from ledger.holders.tokens import holder_key_of
from ledger.issue.anchoring import Anchorer
from ledger.storage.models import AccessLogEntry, CertificateType, Organization, UseCode
from tests.api.conftest import Api, assert_error, new_uscc
from tests.fixtures.library import sample_request

FOOD_LICENCE = "食品经营许可证"  # a legal-entity type the holder does not have
INTAKES = select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.use_code_id.is_not(None))  # not lookups


def changes(api: Api) -> tuple[int, int]:
    """Intakes in the access log and spent use codes."""
    with api.env.lib.sessions() as session:
        return (session.scalar(INTAKES),
                session.scalar(select(func.count()).select_from(UseCode).where(UseCode.used_at.is_not(None))))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(api: Api, who: str, ctype: str, holder_id: str, **overrides: Any) -> str:
    request = sample_request(api.env.types[ctype], document="none", holder="示例持证企业有限公司", holder_id=holder_id,
                             holder_id_type="001", **overrides)
    r = api.call("POST", "/departments/certificates", who, json=request)
    assert r.status_code == 201, r.text
    return r.json()["identifier"]


@pytest.fixture(scope="module")
def holder(api: Api) -> dict[str, Any]:
    """A company holding a business licence (valid) and a real-estate certificate (revoked), both anchored;
    a service item asking for those two and a food business licence; the holder's token."""
    uscc = new_uscc("91")
    licence = issue(api, "market", "business_licence", uscc)
    estate = issue(api, "land", "real_estate", uscc)
    Anchorer(api.env.lib).run_once(force=True)
    r = api.call("POST", f"/departments/certificates/{estate}/status", "land", json={"action": "revoke", "reason": "测试撤销"})
    assert r.status_code == 200, r.text
    with api.env.lib.sessions() as session:
        food = session.scalar(select(CertificateType.code).where(CertificateType.name == FOOD_LICENCE))
    item = f"T{uuid.uuid4().hex[:10].upper()}"
    r = api.call("POST", "/admin/service-items", "admin", json={
        "code": item, "name": "食品经营许可（测试）", "department": api.env.departments["market"].uscc,
        "holder_kind": "legal_entity", "materials": [
            {"name": "营业执照", "certificate_type": api.env.types["business_licence"].code},
            {"name": "经营场所使用证明", "certificate_type": api.env.types["real_estate"].code},
            {"name": "食品经营许可证", "certificate_type": food}]})
    assert r.status_code == 201, r.text
    r = api.call("POST", "/holders/tokens", "admin", json={"id_type": "001", "id_number": uscc, "ttl_minutes": 30})
    assert r.status_code == 201, r.text
    assert uscc not in r.json()["token"]
    return {"uscc": uscc, "licence": licence, "estate": estate, "item": item, "token": r.json()["token"],
            "food": food}


def use_code(api: Api, token: str) -> dict[str, Any]:
    r = api.client.post("/holders/me/use-codes", headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


def intake(api: Api, h: dict[str, Any], code: str, who: str = "counter", **overrides: Any) -> Any:
    body = {"service_item_code": h["item"], "holder": {"id_type": "001", "id_number": h["uscc"]}, "use_code": code,
            "case_number": f"CASE-{uuid.uuid4().hex[:8]}", "staff_id": "S-007"}
    body.update(overrides)
    return api.call("POST", "/counters/intakes", who, json=body)


def test_holder_counter_and_access_log_end_to_end(api: Api, holder: dict[str, Any]) -> None:
    h = holder
    r = api.client.get("/holders/me/certificates", headers=bearer(h["token"]))
    assert r.status_code == 200, r.text
    listed = {c["identifier"]: c for c in r.json()["items"]}
    assert set(listed) == {h["licence"], h["estate"]}
    assert (listed[h["licence"]]["status"], listed[h["estate"]]["status"]) == ("01", "03")

    code = use_code(api, h["token"])
    assert code["ttl_seconds"] == 300
    expires = dt.datetime.fromisoformat(code["expires_at"])
    assert dt.timedelta(minutes=4) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=5)
    qr = Image.open(io.BytesIO(base64.b64decode(code["qr_png"])))
    assert qr.format == "PNG" and qr.size[0] == qr.size[1] >= 21

    r = intake(api, h, code["code"], case_number="2026-SP-000042")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["service_item"]["code"] == h["item"] and out["service_item"]["department"] == "市场监督管理局"
    licence, estate, food = out["materials"]
    assert (licence["outcome"], licence["certificate"]["identifier"], licence["verification"]["verdict"]) == (
        "provided", h["licence"], "VALID")
    assert (estate["outcome"], estate["certificate"]["identifier"], estate["verification"]["verdict"]) == (
        "provided", h["estate"], "INVALID")
    assert estate["certificate"]["status"] == "03"
    assert any(c["name"] == "status" and c["reason"] == "revoked" for c in estate["verification"]["checks"])
    assert food == {"position": 2, "name": "食品经营许可证", "certificate_type_code": h["food"], "required": True,
                    "outcome": "missing", "certificate": None, "verification": None}
    entry = out["access_log_entry"]
    assert entry["certificates"] == [h["licence"], h["estate"]]
    assert entry["intake_id"] == out["intake_id"] and entry["anchor_status"] == "queued"

    r = api.client.get("/holders/me/access-log", headers=bearer(h["token"]))
    assert r.status_code == 200, r.text
    seen = r.json()["items"][0]
    assert seen["id"] == entry["id"] and seen["case_number"] == "2026-SP-000042" and seen["staff_id"] == "S-007"
    assert seen["service_item"] == {"code": h["item"], "name": "食品经营许可（测试）"}
    assert [c["identifier"] for c in seen["certificates"]] == [h["licence"], h["estate"]]
    assert seen["counter"]["name"] == "政务服务中心一号窗口"
    r = api.client.get("/holders/me/access-log", params={"identifier": h["estate"], "limit": 1}, headers=bearer(h["token"]))
    assert [e["id"] for e in r.json()["items"]] == [entry["id"]] and r.json()["next_before"] == entry["id"]
    r = api.client.get(f"/holders/me/access-log/{entry['id']}", headers=bearer(h["token"]))
    assert r.json() == seen

    r = api.client.get(f"/holders/me/access-log/{entry['id']}/anchor", headers=bearer(h["token"]))
    assert r.status_code == 200 and r.json()["verdict"] == "PENDING", r.text
    Anchorer(api.env.lib).run_once(force=True)
    r = api.client.get(f"/holders/me/access-log/{entry['id']}/anchor", headers=bearer(h["token"]))
    assert r.status_code == 200, r.text
    anchor = r.json()
    assert anchor["verdict"] == "VALID" and anchor["anchor_status"] == "anchored", anchor["checks"]
    assert anchor["chain"]["contract"] == api.env.lib.require_contract().address
    contract = api.env.lib.require_contract()
    writer = api.env.platform.chain_address
    on_chain = contract.verify(writer, anchor["root"], anchor["leaf"], anchor["proof"])
    assert on_chain.included and on_chain.status == 1
    assert contract.anchor_of(writer, anchor["root"]).kind == BatchKind.ACCESS_LOG


def test_use_code_refusals_change_nothing(api: Api, holder: dict[str, Any]) -> None:
    h = holder
    code = use_code(api, h["token"])["code"]
    assert intake(api, h, code).status_code == 201
    before = changes(api)
    assert_error(intake(api, h, code), 409, "use_code_used")
    key = holder_key_of(api.env.lib, "001", h["uscc"])
    expired = usecodes.issue(api.env.lib, key, now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5, seconds=1))
    assert_error(intake(api, h, expired.code), 409, "use_code_expired")
    fresh = use_code(api, h["token"])["code"]
    assert_error(intake(api, h, fresh, holder={"id_type": "001", "id_number": new_uscc("91")}), 404,
                 "use_code_unknown")  # another holder's code: the same answer as no code at all
    assert_error(intake(api, h, fresh, service_item_code="NO-SUCH-ITEM"), 404, "service_item_not_found")
    assert_error(intake(api, h, fresh, holder={"id_type": "001"}), 422, "request_invalid")
    assert_error(intake(api, h, fresh, who="market"), 403, "role_forbidden")
    assert_error(api.client.post("/counters/intakes", json={}), 401, "api_key_missing")
    assert changes(api) == before
    assert intake(api, h, fresh.lower()).status_code == 201  # the refusals left it unspent; case does not matter


def test_holder_authentication(api: Api, holder: dict[str, Any]) -> None:
    assert_error(api.client.get("/holders/me/certificates"), 401, "holder_token_missing")
    assert_error(api.client.get("/holders/me/certificates", headers=bearer("clh_forged.token")), 401,
                 "holder_token_invalid")
    assert_error(api.client.get("/holders/me/certificates", headers=bearer(holder["token"] + "x")), 401,
                 "holder_token_invalid")
    assert_error(api.call("POST", "/holders/tokens", "counter", json={"id_type": "001", "id_number": holder["uscc"]}),
                 403, "role_forbidden")
    assert_error(api.call("POST", "/holders/tokens", "admin", json={"id_type": "001", "id_number": "not-a-code"}),
                 422, "field_invalid")


def test_a_holder_sees_only_their_own_log(api: Api, holder: dict[str, Any]) -> None:
    code = use_code(api, holder["token"])["code"]
    entry = intake(api, holder, code).json()["access_log_entry"]
    r = api.call("POST", "/holders/tokens", "admin", json={"id_type": "001", "id_number": new_uscc("91")})
    stranger = r.json()["token"]
    assert api.client.get("/holders/me/access-log", headers=bearer(stranger)).json() == {"items": [], "next_before": None}
    assert api.client.get("/holders/me/certificates", headers=bearer(stranger)).json() == {"items": []}
    for path in (f"/holders/me/access-log/{entry['id']}", f"/holders/me/access-log/{entry['id']}/anchor"):
        assert_error(api.client.get(path, headers=bearer(stranger)), 404, "access_log_entry_not_found")


def test_cli_issues_a_token_the_api_accepts(api: Api, holder: dict[str, Any]) -> None:
    env = {**os.environ, **api.env.env, "PYTHONPATH": str(REPO_ROOT)}
    cli = str(Path(sys.executable).parent / "certledger")
    done = subprocess.run([cli, "holder-token", "--id-type", "001", "--minutes", "5", holder["uscc"]],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    r = api.client.get("/holders/me/certificates", headers=bearer(token))
    assert r.status_code == 200 and {c["identifier"] for c in r.json()["items"]} == {holder["licence"], holder["estate"]}


def test_an_intake_opens_the_pdfs_it_showed_to_its_own_counter_for_a_working_day(
        api: Api, holder: dict[str, Any]) -> None:
    from ledger.core.errors import Forbidden
    from ledger.holders.intake import INTAKE_DOCUMENTS_FOR, intake_certificate

    h = holder
    r = intake(api, h, use_code(api, h["token"])["code"])
    assert r.status_code == 201, r.text
    out = r.json()
    licence = out["materials"][0]["certificate"]
    assert "扩展信息" in licence["labelled"] and "统一社会信用代码" in licence["labelled"]["扩展信息"]  # schema labels
    base = f"/counters/intakes/{out['intake_id']}/certificates"
    # shown, but issued without a document; another certificate or intake is not this counter's to open
    assert_error(api.call("GET", f"{base}/{h['licence']}/document", "counter"), 404, "document_not_found")
    assert_error(api.call("GET", f"{base}/{h['licence'][:-1]}X/document", "counter"), 404, "intake_not_found")
    assert_error(api.call("GET", f"/counters/intakes/nosuch/certificates/{h['licence']}/document", "counter"),
                 404, "intake_not_found")
    assert_error(api.call("GET", f"{base}/{h['licence']}/document", "market"), 403, "role_forbidden")
    later = dt.datetime.now(dt.UTC) + INTAKE_DOCUMENTS_FOR + dt.timedelta(minutes=1)
    with api.env.lib.sessions() as session:
        org = session.scalar(select(AccessLogEntry.counter_org_id).where(AccessLogEntry.intake_id == out["intake_id"]))
        counter_org = session.get(Organization, org)
    with pytest.raises(Forbidden) as refused:
        intake_certificate(api.env.lib, counter_org, out["intake_id"], h["licence"], now=later)
    assert refused.value.code == "intake_expired"
