"""Counter intake with a use code, the access log and its anchor, over the real chain on SQLite and PostgreSQL.

The acceptance case: a service item with three materials; the holder has two of the three certificates,
one of them revoked; the intake says exactly that, the access log has the use, the holder sees it, and
after anchoring the entry's anchor verifies on chain. Then every refusal, each changing nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.app.library import Library
from ledger.app.onboarding import create_organization
from ledger.chain.contract import BatchKind
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import CertledgerError, Unauthorized
from ledger.core.uscc import derive_uscc
from ledger.holders import accesslog, intake, usecodes
from ledger.holders import tokens as holders
from ledger.issue import status_changes
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.storage.models import (
    AccessLogEntry,
    CertificateType,
    Organization,
    ServiceItem,
    ServiceMaterial,
    UseCode,
)
from tests.fixtures.library import LibraryEnv, sample_request, unique_citizen_id

TEACHER = "教师资格证书"  # a type no holder here has
INTAKES = select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.use_code_id.is_not(None))  # not lookups


def make_service_item(lib: Library, department: Organization, materials: list[tuple[str, str | None]]) -> str:
    """A service item of ``department`` whose materials link the given certificate type codes (None: not linked)."""
    code = f"T{uuid.uuid4().hex[:12].upper()}"
    with lib.sessions() as session, session.begin():
        item = ServiceItem(code=code, name=f"测试事项{code}", department_id=department.id, holder_kind="natural_person")
        session.add(item)
        session.flush()
        for position, (name, type_code) in enumerate(materials):
            type_id = session.scalar(select(CertificateType.id).where(CertificateType.code == type_code)) if type_code else None
            session.add(ServiceMaterial(service_item_id=item.id, position=position, name=name,
                                        certificate_type_id=type_id, required=True))
    return code


def make_counter(lib: Library) -> Organization:
    return create_organization(lib, kind="counter", name="测试窗口", uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION))


def mistyped(id_number: str) -> str:
    """The ID number with a wrong check character."""
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


def issue_for(lib: Library, env: LibraryEnv, dept: str, ctype: str, id_number: str, **overrides: Any) -> str:
    request = sample_request(env.types[ctype], document="none", holder="李四", holder_id=id_number,
                             holder_id_type="111", **overrides)
    return issue_many(lib, env.departments[dept], [request])[0].identifier


def teacher_type(lib: Library) -> str:
    with lib.sessions() as session:
        return session.scalar(select(CertificateType.code).where(CertificateType.name == TEACHER))


def state(lib: Library) -> tuple[int, int]:
    """Intakes in the access log and spent use codes: what a refused intake must leave unchanged."""
    with lib.sessions() as session:
        return (session.scalar(INTAKES),
                session.scalar(select(func.count()).select_from(UseCode).where(UseCode.used_at.is_not(None))))


@pytest.fixture(scope="module")
def world(library_env: LibraryEnv) -> dict[str, Any]:
    """A holder with a valid real-estate certificate and a revoked skill certificate, anchored; a counter;
    a service item asking for those two and a teacher's qualification."""
    lib = library_env.lib
    id_number = unique_citizen_id()
    estate = issue_for(lib, library_env, "land", "real_estate", id_number)
    skill = issue_for(lib, library_env, "hr", "skill", id_number)
    Anchorer(lib).run_once(force=True)
    status_changes.change_status(lib, library_env.departments["hr"], [skill], "revoke", "obtained by fraud")
    item = make_service_item(lib, library_env.departments["hr"], [
        ("不动产权证书", library_env.types["real_estate"].code),
        ("职业技能等级证书", library_env.types["skill"].code),
        ("教师资格证书", teacher_type(lib)),
    ])
    return {"lib": lib, "env": library_env, "id_number": id_number, "key": holders.holder_key_of(lib, "111", id_number),
            "estate": estate, "skill": skill, "item": item, "counter": make_counter(lib)}


def run_intake(w: dict[str, Any], code: str, **overrides: Any) -> dict[str, Any]:
    args = {"service_item_code": w["item"], "id_type": "111", "id_number": w["id_number"], "use_code": code,
            "case_number": f"CASE-{uuid.uuid4().hex[:8]}", "staff_id": "A0231"}
    args.update(overrides)
    return intake.open_intake(w["lib"], w["counter"], **args)


def refused(w: dict[str, Any], code: str, error: str, status: int, **overrides: Any) -> CertledgerError:
    before = state(w["lib"])
    with pytest.raises(CertledgerError) as info:
        run_intake(w, code, **overrides)
    assert (info.value.code, info.value.http_status) == (error, status), info.value.message
    assert state(w["lib"]) == before
    return info.value


def test_intake_lists_each_material_and_the_use_is_logged_and_anchored(world: dict[str, Any]) -> None:
    w = world
    lib = w["lib"]
    code = usecodes.issue(lib, w["key"])
    assert code.qr_png.startswith(b"\x89PNG")
    before = state(lib)
    out = run_intake(w, code.code, case_number="2026-XK-000123")

    materials = out["materials"]
    assert [(m["position"], m["outcome"]) for m in materials] == [(0, "provided"), (1, "provided"), (2, "missing")]
    estate, skill, teacher = materials
    assert estate["certificate"]["identifier"] == w["estate"] and estate["verification"]["verdict"] == "VALID"
    assert skill["certificate"]["identifier"] == w["skill"] and skill["certificate"]["status"] == "03"
    assert skill["verification"]["verdict"] == "INVALID"
    status = next(c for c in skill["verification"]["checks"] if c["name"] == "status")
    assert (status["status"], status["reason"]) == ("INVALID", "revoked")
    assert teacher["certificate"] is None and teacher["verification"] is None
    assert teacher["certificate_type_code"] == teacher_type(lib)

    entry = out["access_log_entry"]
    assert entry["certificates"] == [w["estate"], w["skill"]] and entry["anchor_status"] == "queued"
    assert (entry["case_number"], entry["staff_id"], entry["service_item_code"]) == ("2026-XK-000123", "A0231", w["item"])
    assert state(lib) == (before[0] + 1, before[1] + 1)

    seen = accesslog.holder_entries(lib, w["key"])[0]
    assert seen["id"] == entry["id"] and seen["intake_id"] == out["intake_id"]
    assert [c["identifier"] for c in seen["certificates"]] == [w["estate"], w["skill"]]
    assert seen["counter"] == {"uscc": w["counter"].uscc, "name": w["counter"].name}
    assert seen["case_number"] == "2026-XK-000123"
    assert [e["id"] for e in accesslog.holder_entries(lib, w["key"], identifier=w["skill"])][:1] == [entry["id"]]

    waiting = accesslog.check_anchor(lib, w["key"], entry["id"])
    assert waiting["verdict"] == "PENDING" and waiting["anchor_status"] == "queued"

    batches = Anchorer(lib).run_once(force=True)
    mine = [b for b in batches if b.kind == "access_log"]
    assert mine and all(b.org_id == w["env"].platform.id for b in mine)
    checked = accesslog.check_anchor(lib, w["key"], entry["id"])
    assert checked["verdict"] == "VALID", checked["checks"]
    assert [c["name"] for c in checked["checks"]] == list(accesslog.CHECKS)
    contract = lib.require_contract()
    writer = w["env"].platform.chain_address
    on_chain = contract.verify(writer, checked["root"], checked["leaf"], checked["proof"])
    assert on_chain.included and on_chain.status == 1
    assert contract.anchor_of(writer, checked["root"]).kind == BatchKind.ACCESS_LOG
    assert checked["record"]["certificates"] == [w["estate"], w["skill"]]
    assert checked["record"]["holder_key"] == w["key"].hex()


def test_a_changed_entry_no_longer_matches_its_anchor(world: dict[str, Any]) -> None:
    w = world
    lib = w["lib"]
    entry = run_intake(w, usecodes.issue(lib, w["key"]).code)["access_log_entry"]
    Anchorer(lib).run_once(force=True)
    with lib.sessions() as session, session.begin():
        row = session.get(AccessLogEntry, entry["id"])
        row.record = row.record.replace(w["skill"], w["estate"])
    checked = accesslog.check_anchor(lib, w["key"], entry["id"])
    assert checked["verdict"] == "INVALID"
    assert (checked["checks"][0]["name"], checked["checks"][0]["status"]) == ("record_integrity", "INVALID")


def test_a_material_without_certificate_type_is_not_linked(world: dict[str, Any]) -> None:
    w = world
    item = make_service_item(w["lib"], w["env"].departments["land"], [
        ("申请表", None), ("不动产权证书", w["env"].types["real_estate"].code)])
    out = run_intake(w, usecodes.issue(w["lib"], w["key"]).code, service_item_code=item)
    assert [m["outcome"] for m in out["materials"]] == ["not_linked", "provided"]
    assert out["access_log_entry"]["certificates"] == [w["estate"]]


def test_expired_code_is_refused_and_not_spent(world: dict[str, Any]) -> None:
    w = world
    code = usecodes.issue(w["lib"], w["key"], now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    refused(w, code.code, "use_code_expired", 409)


def test_code_used_twice_is_refused_the_second_time(world: dict[str, Any]) -> None:
    w = world
    code = usecodes.issue(w["lib"], w["key"]).code
    run_intake(w, code)
    refused(w, code, "use_code_used", 409)


def test_code_of_another_holder_is_refused_and_stays_usable(world: dict[str, Any]) -> None:
    w = world
    other = holders.holder_key_of(w["lib"], "111", unique_citizen_id())
    code = usecodes.issue(w["lib"], other).code
    refused(w, code, "use_code_unknown", 404)  # the same answer as no such code: nothing tells that it exists
    mine = usecodes.issue(w["lib"], w["key"]).code
    refused(w, mine, "use_code_unknown", 404, id_number=unique_citizen_id())
    assert run_intake(w, mine)["materials"]


@pytest.mark.parametrize(("overrides", "error", "status"), [
    ({"service_item_code": "NO-SUCH-ITEM"}, "service_item_not_found", 404),
    ({"use_code": "ABCD-EFGH-JKLM"}, "use_code_unknown", 404),
    ({"use_code": "not a code"}, "use_code_malformed", 422),
    ({"id_number": "mistyped"}, "field_invalid", 422),
    ({"id_type": "999"}, "field_invalid", 422),
    ({"case_number": " "}, "field_missing", 422),
    ({"staff_id": "x" * 65}, "field_invalid", 422),
])
def test_bad_input_is_refused_and_spends_nothing(world: dict[str, Any], overrides: dict[str, Any], error: str,
                                                 status: int) -> None:
    code = usecodes.issue(world["lib"], world["key"]).code
    overrides = dict(overrides)
    if overrides.get("id_number") == "mistyped":
        overrides["id_number"] = mistyped(world["id_number"])
    refused(world, overrides.pop("use_code", code), error, status, **overrides)
    assert run_intake(world, code)["materials"]  # still unspent


def test_two_intakes_racing_with_one_code_only_one_wins(world: dict[str, Any]) -> None:
    w = world
    code = usecodes.issue(w["lib"], w["key"]).code
    before = state(w["lib"])
    results: list[Any] = []
    start = threading.Barrier(2)

    def attempt() -> None:
        start.wait()
        try:
            results.append(run_intake(w, code)["intake_id"])
        except CertledgerError as e:
            results.append(e.code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r == "use_code_used" for r in results) == [False, True], results
    assert state(w["lib"]) == (before[0] + 1, before[1] + 1)


def test_intake_without_an_audit_writer_is_refused(world: dict[str, Any]) -> None:
    w = world
    platform = w["env"].platform
    code = usecodes.issue(w["lib"], w["key"]).code
    with w["lib"].sessions() as session, session.begin():
        session.get(Organization, platform.id).active = False
    try:
        refused(w, code, "audit_writer_missing", 503)
    finally:
        with w["lib"].sessions() as session, session.begin():
            session.get(Organization, platform.id).active = True


def test_holder_tokens(library: Library) -> None:
    id_number = unique_citizen_id()
    token = holders.issue_token(library, "111", id_number, ttl=dt.timedelta(minutes=5))
    assert holders.authenticate(library, token.token) == holders.holder_key_of(library, "111", id_number)
    assert id_number not in token.token
    payload, signature = token.token.split(".")
    for bad in (payload + "." + signature[:-2] + "AA", payload[:-2] + "AA." + signature, "clh_x", "Bearer x"):
        with pytest.raises(Unauthorized) as info:
            holders.authenticate(library, bad)
        assert info.value.code == "holder_token_invalid"
    with pytest.raises(Unauthorized) as info:
        holders.authenticate(library, token.token, now=token.expires_at)
    assert info.value.code == "holder_token_expired"
    with pytest.raises(CertledgerError) as err:
        holders.issue_token(library, "111", id_number, ttl=dt.timedelta(days=2))
    assert err.value.code == "token_ttl_invalid"


def test_holder_sees_every_certificate_with_its_status(world: dict[str, Any]) -> None:
    w = world
    lib = w["lib"]
    expired = issue_for(lib, w["env"], "land", "real_estate", w["id_number"], valid_until="2024-12-31")
    listed = {c["identifier"]: c for c in holders.certificates(lib, w["key"])}
    assert listed[w["estate"]]["status"] == "01"
    assert (listed[w["skill"]]["status"], listed[w["skill"]]["status_name"]) == ("03", "revoked")
    assert (listed[expired]["status"], listed[expired]["status_name"]) == ("05", "expired")
    assert all(c["current"] for c in listed.values())
