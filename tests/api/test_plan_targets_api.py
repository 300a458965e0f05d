"""``GET /admin/plan-targets`` (JSON and CSV), ``GET /admin/plan-targets/reports/{month}`` and the command line
(``certledger plan-targets``, ``certledger verify`` of a month's report) over the session's real library."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from ledger.app.config import REPO_ROOT
from ledger.core.statuses import today_china
from ledger.issue.anchoring import Anchorer
from ledger.plan.monthly import anchor_month, previous_month
from ledger.plan.verifications import flush_verifications
from ledger.storage.plan_tables import COUNTER_VERIFICATIONS
from tests.api.conftest import Api, assert_error, new_uscc
from tests.fixtures.cli import CLI
from tests.fixtures.library import sample_request


def _targets(api: Api, **params: object) -> dict:
    r = api.call("GET", "/admin/plan-targets", "admin", params=params)
    assert r.status_code == 200, r.text
    return {t["key"]: t for t in r.json()["targets"]} | {"_body": r.json()}


def test_admin_reads_the_targets_others_are_refused(api: Api) -> None:
    body = _targets(api, days=7)["_body"]
    assert [t["key"] for t in body["targets"]] == [
        "types_with_certificates", "records", "types_linked_to_materials", "service_items_accepting",
        "counters_connected", "associations_reporting"]
    assert len(body["series"]["days"]) == 7 and body["today"] == body["series"]["days"][-1]
    assert_error(api.call("GET", "/admin/plan-targets", "counter"), 403, "role_forbidden")
    assert_error(api.call("GET", "/admin/plan-targets"), 401, "api_key_missing")
    assert_error(api.call("GET", "/admin/plan-targets", "admin", params={"days": 0}), 422, "request_invalid")


def test_csv_for_excel(api: Api) -> None:
    for path, params in (("/admin/plan-targets.csv", {}), ("/admin/plan-targets", {"format": "csv"})):
        r = api.call("GET", path, "admin", params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        assert r.content.startswith("\ufeff指标 key,".encode()) and b"\r\n" in r.content
    assert_error(api.call("GET", "/admin/plan-targets.csv", "market"), 403, "role_forbidden")


def test_a_counters_verification_connects_it(api: Api) -> None:
    r = api.call("POST", "/admin/organizations", "admin", json={"kind": "counter", "name": "核验窗口", "uscc": new_uscc()})
    counter = r.json()
    key = api.call("POST", f"/admin/organizations/{counter['id']}/api-keys", "admin", json={"roles": ["counter"]}).json()
    missing = {m["code"] for m in _targets(api)["counters_connected"]["missing"]}
    assert counter["uscc"] in missing
    issued = api.call("POST", "/departments/certificates", "market",
                      json=sample_request(api.env.types["business_licence"])).json()
    r = api.client.post("/counters/verify/identifier", headers={"X-API-Key": key["key"]},
                        json={"identifier": issued["identifier"]})
    assert r.status_code == 200, r.text
    connected = _targets(api)["counters_connected"]  # the route flushes this process's counts first
    assert counter["uscc"] not in {m["code"] for m in connected["missing"]}
    Anchorer(api.env.lib).run_once(force=True)
    for _ in range(2):  # anchored: the second may be answered by the lean path (api.fast_verify), counted the same
        r = api.client.post("/counters/verify/identifier", headers={"X-API-Key": key["key"]},
                            json={"identifier": issued["identifier"]})
        assert r.json()["verdict"] == "VALID"
    flush_verifications(api.env.lib)
    with api.env.lib.engine.connect() as conn:
        counted = conn.execute(select(func.sum(COUNTER_VERIFICATIONS.c.count))
                               .where(COUNTER_VERIFICATIONS.c.org_id == counter["id"])).scalar_one()
    assert counted == 3  # each verification once, whichever path answered it


def test_the_monthly_report_and_its_proof(api: Api, tmp_path: Path) -> None:
    lib, month = api.env.lib, previous_month(today_china())
    assert_error(api.call("GET", "/admin/plan-targets/reports/2001-01", "admin"), 404, "plan_report_not_found")
    assert_error(api.call("GET", "/admin/plan-targets/reports/2026-13", "admin"), 422, "plan_month_invalid")
    anchor_month(lib, month)
    Anchorer(lib).run_once(force=True)
    r = api.call("GET", f"/admin/plan-targets/reports/{month}", "admin")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["verdict"] == "VALID" and report["format"] == "certledger/anchored-record/1"
    assert report["record"]["month"] == month and report["chain"]["tx_hash"].startswith("0x")
    if lib.engine.dialect.name != "sqlite":
        return  # the command line reads the same answer on either database: once is enough (the suite's time)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **api.env.env}
    done = subprocess.run([CLI, "verify", str(path), "--rpc", env["CERTLEDGER_RPC_URL"], "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["verdict"] == "VALID"  # a forged figure fails: tests/test_plan_targets.py
    done = subprocess.run([CLI, "plan-targets"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "证照数据总量" in done.stdout, done.stdout + done.stderr
