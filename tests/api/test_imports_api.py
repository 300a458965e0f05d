"""POST /departments/imports: an upload imported in the background, its progress and error report, by the
department's key only and for its own types (real library, SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import secrets
import time
from typing import Any

from ledger.issue.import_samples import headers, sample_rows
from tests.api.conftest import Api, assert_error


def _upload(api: Api, who: str, type_code: str, body: bytes, name: str = "licences.csv") -> Any:
    return api.call("POST", "/departments/imports", who, files={"file": (name, body, "text/csv")},
                    data={"type_code": type_code})


def _wait(api: Api, who: str, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = api.call("GET", f"/departments/imports/{job_id}", who).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"import {job_id} still {job['state']}")


def _export(api: Api, rows: int) -> tuple[str, bytes, list[dict[str, Any]]]:
    ctype = api.env.types["business_licence"]
    data = list(sample_rows(ctype.code, ctype.fields, ctype.holder_kind, rows, start=secrets.randbelow(10**5) * 10**4))
    if rows > 7:
        data[7]["持证主体代码类型"] = "999"  # file row 9
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=headers(ctype.fields))
    writer.writeheader()
    writer.writerows(data)
    return ctype.code, buf.getvalue().encode("gb18030"), data


def test_upload_progress_and_error_report(api: Api) -> None:
    type_code, body, _ = _export(api, 40)
    r = _upload(api, "market", type_code, body)
    assert r.status_code == 202, r.text
    job = _wait(api, "market", r.json()["id"])
    assert (job["state"], job["rows_read"], job["rows_stored"], job["rows_failed"], job["errors"]) == \
        ("done", 40, 39, 1, 1)
    report = api.call("GET", job["errors_csv"], "market")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert report.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[1][:3] == ["9", "持证主体代码类型", "field_invalid"]

    again = _wait(api, "market", _upload(api, "market", type_code, body).json()["id"])
    assert (again["rows_stored"], again["rows_skipped"], again["rows_failed"]) == (0, 39, 1)


def test_only_the_department_and_its_own_types(api: Api) -> None:
    type_code, body, _ = _export(api, 3)
    assert_error(_upload(api, "land", type_code, body), 403, "type_not_issuable")
    assert_error(_upload(api, "counter", type_code, body), 403, "role_forbidden")
    assert_error(_upload(api, "market", type_code, body, name="licences.pdf"), 422, "import_format_unknown")
    job = _wait(api, "market", _upload(api, "market", type_code, body).json()["id"])
    assert_error(api.call("GET", f"/departments/imports/{job['id']}", "land"), 404, "import_not_found")
    assert_error(api.call("GET", f"/departments/imports/{job['id']}/errors.csv", "land"), 404, "import_not_found")
    broken = _wait(api, "market", _upload(api, "market", type_code, "证照编号,备注\n1,x\n".encode()).json()["id"])
    assert (broken["state"], broken["error_code"]) == ("failed", "import_column_unknown")
