"""The city plan's targets (ledger.plan) on the session's real library, on SQLite and PostgreSQL.

The count tables are checked against a full count of the certificates after every step (issuance, status changes,
a renewal), the figures against what each step must change, the edge cases of the issue (a type whose only
certificate is revoked, a counter whose only verification is 31 days old), the monthly report through the real
anchoring worker and chain (verified by the service and by the standalone verifier), and the migration's backfill.
Rows are shared by the session: every assertion is about a difference or about rows made here.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from alembic import command
from sqlalchemy import func, select

from ledger.app.onboarding import create_organization
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import BadInput
from ledger.core.statuses import today_china
from ledger.core.uscc import derive_uscc
from ledger.holders.lookups import flush_lookups
from ledger.holders.service_items import define_service_item
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.issue.status_changes import change_status
from ledger.issue.versions import new_version
from ledger.plan.export import targets_csv
from ledger.plan.monthly import PlanAnchorer, anchor_month, check_month, previous_month, report_with_proof
from ledger.plan.targets import plan_targets
from ledger.plan.verifications import count_verification, flush_verifications, tally
from ledger.storage.engine import alembic_config, migrate
from ledger.storage.models import CERTIFICATES, AccessLogEntry, CertificateType
from ledger.storage.plan_tables import CERTIFICATE_DAILY, CERTIFICATE_TALLIES, COUNTER_VERIFICATIONS, PlanReport
from ledger.storage.tallies import china_day, count_verifications, set_statuses
from ledger.verify.standalone import verify_anchored_record
from tests.fixtures.library import LibraryEnv, sample_request


def _uscc() -> str:
    return derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="12")


def _by_key(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["key"]: t for t in figures["targets"]}


def _assert_tallies_match_rows(env: LibraryEnv) -> None:
    """The count tables hold exactly what a full count of the certificates gives."""
    c, d = CERTIFICATES.c, CERTIFICATE_DAILY.c
    with env.lib.engine.connect() as conn:
        counted = {(r.type_code, r.status): r.n for r in conn.execute(
            select(c.type_code, c.status, func.count().label("n")).group_by(c.type_code, c.status))}
        tallied = {(r.type_code, r.status): r.count for r in conn.execute(select(CERTIFICATE_TALLIES)) if r.count}
        per_org = dict(conn.execute(select(c.issuer_org_id, func.count()).group_by(c.issuer_org_id)).all())
        daily = dict(conn.execute(select(d.org_id, func.sum(d.count)).group_by(d.org_id)).all())
    assert tallied == counted
    assert {k: int(v) for k, v in daily.items() if v} == per_org


def _unused_type(env: LibraryEnv, department: str) -> CertificateType:
    """A type of an activated department that has no certificate yet (none of the session's tests issued it)."""
    with env.lib.sessions() as session:
        used = set(session.execute(select(CERTIFICATES.c.type_code).distinct()).scalars())
        return next(t for t in session.execute(select(CertificateType).where(
            CertificateType.department_id == env.departments[department].id)).scalars() if t.code not in used)


def test_figures_follow_issuance_and_status_changes(library_env: LibraryEnv) -> None:
    lib, market, hr = library_env.lib, library_env.departments["market"], library_env.departments["hr"]
    licence, skill = library_env.types["business_licence"], library_env.types["skill"]
    lonely = _unused_type(library_env, "hr")  # gets one certificate, which is then revoked
    before = _by_key(plan_targets(lib))
    issued = issue_many(lib, market, [sample_request(licence) for _ in range(3)])
    issued += issue_many(lib, hr, [sample_request(skill) for _ in range(2)] + [sample_request(lonely)])
    after = _by_key(plan_targets(lib))
    assert after["records"]["figure"] == before["records"]["figure"] + 6
    assert after["records"]["target"] == 5_000_000 and after["types_with_certificates"]["target"] == 150
    held = after["types_with_certificates"]
    assert lonely.code not in {m["code"] for m in held["missing"]}
    assert held["figure"] == before["types_with_certificates"]["figure"] + (lonely.code in {
        m["code"] for m in before["types_with_certificates"]["missing"]}) + (licence.code in {
        m["code"] for m in before["types_with_certificates"]["missing"]}) + (skill.code in {
        m["code"] for m in before["types_with_certificates"]["missing"]})
    markets = {d["uscc"]: d for d in after["records"]["departments"]}
    assert markets[market.uscc]["figure"] >= 3
    _assert_tallies_match_rows(library_env)

    Anchorer(lib).run_once(force=True)
    change_status(lib, hr, [issued[5].identifier], "revoke", "吊销 / revoked")  # the lonely type's only certificate
    change_status(lib, market, [issued[0].identifier, issued[1].identifier], "suspend", "暂停 / suspended")
    change_status(lib, market, [issued[1].identifier], "reinstate", "恢复 / reinstated")
    new_version(lib, market, issued[2].identifier, "renew", {"valid_until": "2040-12-31"}, reason="延续 / renewed")
    _assert_tallies_match_rows(library_env)
    now = _by_key(plan_targets(lib))
    gone = {m["code"]: m for m in now["types_with_certificates"]["missing"]}
    assert lonely.code in gone and "all 1 no longer in force" in gone[lonely.code]["note"]
    assert gone[lonely.code]["department_uscc"] == hr.uscc
    assert now["records"]["figure"] == after["records"]["figure"] + 1  # the renewal is a record of its own
    assert now["types_with_certificates"]["figure"] == held["figure"] - 1
    series = plan_targets(lib, days=3)["series"]
    assert series["days"][-1] == today_china().isoformat() and len(series["days"]) == 3
    today = {d["uscc"]: d["counts"][-1] for d in series["departments"]}
    assert today[market.uscc] >= 4 and today[hr.uscc] >= 3


def test_counters_associations_items_and_types(library_env: LibraryEnv) -> None:
    lib, land = library_env.lib, library_env.departments["land"]
    active, stale, idle, edge = (create_organization(lib, kind="counter", name=f"窗口{n}", uscc=_uscc(),
                                                     parent_id=land.id) for n in ("甲", "乙", "丙", "戊"))
    association = create_organization(lib, kind="association", name="示例评价协会", uscc=_uscc())
    today = today_china()
    flush_verifications(lib)  # what earlier tests' counters verified on this shared library is written first
    with lib.engine.begin() as conn:  # the stale counter's only verification is on the 31st day back (today is the
        # 1st), the edge counter's on the 30th: the last 30 days are today and the 29 before
        count_verifications(conn, {(stale.id, today - dt.timedelta(days=30)): 1,
                                   (edge.id, today - dt.timedelta(days=29)): 1})
    count_verification(lib, active)
    count_verification(lib, land)  # a department verifying is not a counter: not counted
    assert flush_verifications(lib) == 1
    unlinked = _by_key(plan_targets(lib))["types_linked_to_materials"]["missing"]
    code = f"PT-{uuid.uuid4().hex[:8]}"
    with lib.sessions() as session:
        define_service_item(session, {"code": code, "name": "无电子证照事项", "department": land.uscc,
                                      "holder_kind": "both", "materials": [{"name": "申请表", "certificate_type": None}]})
    with lib.sessions() as session:
        define_service_item(session, {"code": code + "L", "name": "关联事项", "department": land.uscc,
                                      "holder_kind": "both", "materials": [
                                          {"name": unlinked[0]["name"], "certificate_type": unlinked[0]["code"]}]})
    figures = plan_targets(lib)
    t = _by_key(figures)
    counters = {m["code"]: m for m in t["counters_connected"]["missing"]}
    assert active.uscc not in counters and edge.uscc not in counters
    assert "last verified" in counters[stale.uscc]["note"] and "never verified" in counters[idle.uscc]["note"]
    assert counters[idle.uscc]["department_uscc"] == land.uscc
    assert t["counters_connected"]["figure"] <= t["counters_connected"]["target"] - 2
    assert association.uscc in {m["code"] for m in t["associations_reporting"]["missing"]}
    items = {m["code"]: m for m in t["service_items_accepting"]["missing"]}
    assert items[code]["department_uscc"] == land.uscc
    linked = {m["code"] for m in t["types_linked_to_materials"]["missing"]}
    with lib.sessions() as session:
        n_types = session.scalar(select(func.count()).select_from(CertificateType).where(CertificateType.active))
    assert t["types_linked_to_materials"]["target"] == n_types
    assert library_env.types["business_licence"].code not in linked  # the catalogue links it
    assert unlinked[0]["code"] not in linked and len(linked) == len(unlinked) - 1
    assert t["types_linked_to_materials"]["figure"] == n_types - len(linked)
    assert code + "L" not in items
    csv = targets_csv(figures).decode("utf-8")
    assert csv.startswith("\ufeff指标 key,") and code in csv and "\r\n" in csv


def test_verification_tally_holds_counts_until_flushed(library_env: LibraryEnv) -> None:
    lib, land = library_env.lib, library_env.departments["land"]
    counter = create_organization(lib, kind="counter", name="窗口丁", uscc=_uscc(), parent_id=land.id)
    for _ in range(5):
        count_verification(lib, counter)
    assert tally(lib).flush() == 5
    assert tally(lib).flush() == 0
    assert counter.uscc not in {m["code"] for m in _by_key(plan_targets(lib))["counters_connected"]["missing"]}


def test_monthly_report_is_anchored_and_verifies(library_env: LibraryEnv, rpc_url: str) -> None:
    lib = library_env.lib
    month = previous_month(today_china())
    first = anchor_month(lib, month)
    again = anchor_month(lib, month)
    assert again["created"] is False and again["record"] == first["record"]
    assert first["record"]["format"] == "certledger/plan-targets/1"
    assert {t["key"] for t in first["record"]["targets"]} >= {"records", "counters_connected"}
    if first["created"]:  # (an earlier test of the session may have made and anchored last month's report)
        assert report_with_proof(lib, month)["verdict"] == "PENDING"  # queued, not yet anchored
    worker = PlanAnchorer(lib)
    worker.run_once(force=True)  # the worker's round: last month's report is there already, so it only anchors
    assert worker._stored_month == month
    report = report_with_proof(lib, month)
    assert report["anchor_status"] == "anchored" and report["verdict"] == "VALID", report["checks"]
    standalone = verify_anchored_record(json.loads(json.dumps(report)), rpc_url, library_env.trust())
    assert standalone.verdict.value == "VALID", standalone.to_dict()
    forged = json.loads(json.dumps(report))
    forged["record"]["targets"][0]["figure"] += 1
    result = verify_anchored_record(forged, rpc_url, library_env.trust())
    assert result.verdict.value == "INVALID" and result.to_dict()["checks"][0]["reason"] == "leaf_mismatch"
    try:
        anchor_month(lib, f"{today_china():%Y-%m}")
    except BadInput as e:
        assert e.code == "plan_month_not_over"
    else:
        raise AssertionError("a month not over was anchored")
    for bad in ("2026-13", "next", f"{today_plus_month():%Y-%m}"):
        try:
            check_month(bad)
        except Exception as e:  # noqa: BLE001
            assert getattr(e, "code", "").startswith("plan_month_")
        else:
            raise AssertionError(bad)


def today_plus_month() -> dt.date:
    return today_china().replace(day=1) + dt.timedelta(days=32)


def test_migration_backfills_the_counts(library_env: LibraryEnv) -> None:
    """Down to 0008 (the count tables dropped) and up again: the counts come back from the rows alone."""
    lib = library_env.lib
    flush_verifications(lib)
    flush_lookups(lib)  # the lookups noted so far into the access log: the downgrade refuses while notes wait
    command.downgrade(alembic_config(lib.engine), "0008")
    migrate(lib.engine)
    _assert_tallies_match_rows(library_env)
    with lib.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PlanReport)) == 0
        intakes = session.scalar(select(func.count()).select_from(AccessLogEntry)
                                 .where(AccessLogEntry.counter_org_id.is_not(None)))  # what 0013 counts
        assert session.scalar(select(func.coalesce(func.sum(COUNTER_VERIFICATIONS.c.count), 0))) == intakes
    assert china_day(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 1)


def test_concurrent_issuance_and_changes_keep_the_counts(library_env: LibraryEnv) -> None:
    """Four threads issue at once, then two change the same certificates at once: every row is counted once."""
    lib, hr, skill = library_env.lib, library_env.departments["hr"], library_env.types["skill"]
    with ThreadPoolExecutor(4) as pool:
        issued = [c for batch in pool.map(lambda _: issue_many(lib, hr, [sample_request(skill) for _ in range(5)]),
                                          range(4)) for c in batch]
    _assert_tallies_match_rows(library_env)
    ids = [c.id for c in issued]
    barrier = threading.Barrier(2)

    def change(status: str) -> None:
        with lib.engine.begin() as conn:
            barrier.wait()
            set_statuses(conn, ids, status)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(change, ["03", "03"]))
    _assert_tallies_match_rows(library_env)
