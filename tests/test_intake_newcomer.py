"""The README's holder and counter-intake walkthrough, over HTTP against `certledger up` run as a real process.

The demo platform has its audit writer, so the running anchoring worker anchors the access log: a
holder token from the admin, a use code, an intake for 开办企业一件事 (YJS117001), the holder's log
entry and its anchor verifying on chain.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.test_newcomer import (  # noqa: F401 (fixture)
    interrupt,
    stack_args,
    start,
    verify_identifier,
    wait_for,
)

pytestmark = pytest.mark.slow
HOLDER_ID = "11430100303989522P"


def until(check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.5)
    return result


def test_readme_holder_and_intake_walkthrough(tmp_path: Path, stack_args) -> None:  # noqa: F811
    args, env, api, _rpc = stack_args
    log = tmp_path / "up.log"
    up = start(["up", *args], log, env)
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, up, log)
        keys = json.loads((tmp_path / "var" / "demo-keys.json").read_text(encoding="utf-8"))
        dept, counter, admin = keys["departments"][0], keys["counter"]["key"], keys["admin"]["key"]
        with httpx.Client(base_url=api, timeout=60) as client:
            issued = client.post("/departments/certificates", headers={"X-API-Key": dept["key"]}, json={
                "type_code": dept["type_codes"]["营业执照"], "number": "BL-2026-000001", "issue_date": "2026-11-27",
                "holder": "长沙示例科技有限公司", "holder_id": HOLDER_ID, "holder_id_type": "001",
                "fields": {"unified_social_credit_code": HOLDER_ID, "entity_type": "其他有限责任公司",
                           "legal_representative": "张三", "established_on": "2020-06-18",
                           "address": "长沙市岳麓区示例路1号", "business_scope": "软件开发；信息技术咨询服务"},
            })
            assert issued.status_code == 201, issued.text
            identifier = issued.json()["identifier"]
            until(lambda: verify_identifier(client, counter, identifier)["verdict"] == "VALID")

            r = client.post("/holders/tokens", headers={"X-API-Key": admin}, json={"id_type": "001", "id_number": HOLDER_ID})
            assert r.status_code == 201, r.text
            holder = {"Authorization": f"Bearer {r.json()['token']}"}
            mine = client.get("/holders/me/certificates", headers=holder).json()["items"]
            assert [c["identifier"] for c in mine] == [identifier]
            code = client.post("/holders/me/use-codes", headers=holder).json()["code"]

            r = client.post("/counters/intakes", headers={"X-API-Key": counter}, json={
                "service_item_code": "YJS117001", "holder": {"id_type": "001", "id_number": HOLDER_ID},
                "use_code": code, "case_number": "2026-KB-000001", "staff_id": "A0231"})
            assert r.status_code == 201, r.text
            outcomes = {m["name"]: (m["outcome"], m["verification"] and m["verification"]["verdict"])
                        for m in r.json()["materials"]}
            assert outcomes["法人股东主体资格证明"] == ("provided", "VALID")
            assert outcomes["法定代表人、股东身份证件"] == ("missing", None)
            assert outcomes["公司章程"] == ("not_linked", None)
            entry = r.json()["access_log_entry"]["id"]

            log_items = client.get("/holders/me/access-log", headers=holder).json()["items"]
            assert [e["id"] for e in log_items if e["kind"] == "intake"] == [entry]  # beside it: the lookups

            def anchored() -> dict | None:
                checked = client.get(f"/holders/me/access-log/{entry}/anchor", headers=holder).json()
                return checked if checked["verdict"] == "VALID" else None

            anchor = until(anchored)
            assert anchor["record"]["certificates"] == [identifier]
    finally:
        interrupt(up)
