"""Importing a department's export (ledger.issue.importer) on SQLite and PostgreSQL, with real seals: CSV in
UTF-8 and GB18030 with Chinese headers, XLSX, JSON Lines; every bad row reported with its absolute row number;
duplicates skipped or refused; a run stopped after a chunk resumes without a row written twice."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from ledger.core.errors import BadInput, Forbidden
from ledger.core.process_pool import ProcessPool
from ledger.issue.import_files import read_rows
from ledger.issue.import_samples import headers, sample_rows, write_sample
from ledger.issue.importer import ImportSummary, chunks, errors_csv, get_job, import_file, write_errors
from ledger.storage.import_tables import ImportJob
from ledger.storage.models import AnchorOutbox, Certificate
from tests.fixtures.cli import CLI
from tests.fixtures.library import LibraryEnv


def _rows(env: LibraryEnv, n: int) -> tuple[list[dict[str, Any]], list[str]]:
    ctype = env.types["business_licence"]
    start = secrets.randbelow(10**5) * 10**4
    return list(sample_rows(ctype.code, ctype.fields, ctype.holder_kind, n, start=start)), headers(ctype.fields)


def _csv(path: Path, rows: list[dict[str, Any]], cols: list[str], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _stored(env: LibraryEnv, numbers: list[str]) -> int:
    org = env.departments["market"]
    with env.lib.sessions() as s:
        certs = s.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.issuer_org_id == org.id, Certificate.number.in_(numbers)))
        ids = select(Certificate.id).where(Certificate.issuer_org_id == org.id, Certificate.number.in_(numbers))
        queued = s.scalar(select(func.count()).select_from(AnchorOutbox).where(
            AnchorOutbox.kind == "certificate", AnchorOutbox.item_id.in_(ids)))
    assert queued == certs, "every stored certificate is queued for anchoring, exactly once"
    return certs


def _report(env: LibraryEnv, job_id: int) -> list[list[str]]:
    text = "".join(errors_csv(env.lib, job_id))
    assert text.startswith("\ufeff行号 row,列 column,代码 code,原因 reason")
    return list(csv.reader(io.StringIO(text[1:])))[1:]


@pytest.fixture(params=[False, True], ids=["in_process", "worker_processes"])
def workers(request: pytest.FixtureRequest, library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    """Chunks prepared in this process, or on two worker processes a few chunks ahead of the inserts."""
    if request.param:
        pool = ProcessPool(2)
        monkeypatch.setattr(library_env.lib, "workers", pool)
        yield True
        assert pool._pool is not None, "the chunks were prepared on the worker processes"
        pool.close()
    else:
        yield False


def test_csv_with_bad_rows_everywhere_reports_each_and_keeps_the_good(library_env: LibraryEnv, tmp_path: Path,
                                                                      workers: bool) -> None:
    """With worker processes, the chunk holding rows 122-123 is prepared before rows 11-12 are stored: its insert
    is refused and the chunk prepared again, so the outcome is the same."""
    env, org = library_env, library_env.departments["market"]
    rows, cols = _rows(env, 120)
    rows[0]["证照颁发日期"] = "2023-02-30"            # file row 2: the first data row
    rows[49]["持证主体代码"] = "not-a-code"          # row 51, in the first chunk
    rows[50]["类型"] = "不存在的类型"                 # row 52, first row of the second chunk
    rows[50]["住所（经营场所）"] = ""                 # ... and a second problem on the same row
    rows[119]["持证主体"] = ""                        # row 121, the last
    rows.append(dict(rows[10]))                       # row 122: the same record again: skipped
    rows.append({**rows[11], "经营范围": "另一范围"})  # row 123: the same number, other content: refused
    path = _csv(tmp_path / "licences.csv", rows, cols)

    summary = import_file(env.lib, org, path, env.types["business_licence"].code, chunk=50, workers=workers)
    assert (summary.state, summary.read, summary.stored, summary.skipped, summary.failed) == ("done", 122, 116, 1, 5)
    problems = _report(env, summary.job_id)
    assert [(p[0], p[1], p[2]) for p in problems] == [
        ("2", "证照颁发日期", "field_invalid"), ("51", "持证主体代码", "field_invalid"),
        ("52", "类型", "field_invalid"), ("52", "住所（经营场所）", "field_missing"),
        ("121", "持证主体", "field_missing"), ("123", "证照编号", "certificate_conflict")]
    assert all(" / " in p[3] and any("\u4e00" <= ch <= "\u9fff" for ch in p[3]) for p in problems)
    numbers = [r["证照编号"] for r in rows]
    assert _stored(env, numbers) == 116

    again = import_file(env.lib, org, path, env.types["business_licence"].code, chunk=50, workers=workers)
    assert (again.stored, again.skipped, again.failed) == (0, 117, 5)
    assert _stored(env, numbers) == 116
    out = tmp_path / "errors.csv"
    assert write_errors(env.lib, again.job_id, out) == 6
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_gb18030_csv_and_the_stored_record(library_env: LibraryEnv, tmp_path: Path) -> None:
    env, org = library_env, library_env.departments["market"]
    rows, cols = _rows(env, 30)
    path = _csv(tmp_path / "gbk.csv", rows, cols, encoding="gb18030")
    summary = import_file(env.lib, org, path, env.types["business_licence"].code)
    assert (summary.stored, summary.failed) == (30, 0)
    with env.lib.sessions() as s:
        cert = s.scalar(select(Certificate).where(Certificate.issuer_org_id == org.id,
                                                  Certificate.number == rows[3]["证照编号"]))
    assert cert.meta["holder"] == rows[3]["持证主体"] and cert.meta["fields"]["address"] == rows[3]["住所（经营场所）"]
    assert json.loads(cert.record)["holder"] == rows[3]["持证主体"]


def test_xlsx_with_chinese_headers_dates_and_numbers(library_env: LibraryEnv, tmp_path: Path) -> None:
    env, org = library_env, library_env.departments["market"]
    rows, cols = _rows(env, 25)
    book = Workbook()
    sheet = book.active
    sheet.append(cols)
    for r in rows:
        cells = [r[c] for c in cols]
        cells[cols.index("证照颁发日期")] = __import__("datetime").date.fromisoformat(r["证照颁发日期"])
        cells[cols.index("持证主体代码类型")] = 1  # Excel drops the leading zeros of 001
        sheet.append(cells)
    sheet.append([None] * len(cols))  # an empty row is not a record
    sheet.append(["BAD-XLSX"] + [None] * (len(cols) - 1))
    path = tmp_path / "licences.xlsx"
    book.save(path)
    summary = import_file(env.lib, org, path, env.types["business_licence"].code)
    assert (summary.stored, summary.failed) == (25, 1)
    assert {p[0] for p in _report(env, summary.job_id)} == {"28"}


def test_json_lines_by_keys_and_labels(library_env: LibraryEnv, tmp_path: Path) -> None:
    env, org = library_env, library_env.departments["market"]
    rows, _ = _rows(env, 10)
    lines = [json.dumps(r, ensure_ascii=False) for r in rows[:5]]
    for r in rows[5:]:
        fields = {"unified_social_credit_code": r["统一社会信用代码"], "entity_type": r["类型"],
                  "legal_representative": r["法定代表人（负责人、经营者）"], "established_on": r["成立日期"],
                  "address": r["住所（经营场所）"], "business_scope": r["经营范围"]}
        lines.append(json.dumps({"number": r["证照编号"], "holder": r["持证主体"], "holder_id": r["持证主体代码"],
                                 "holder_id_type": "001", "issue_date": r["证照颁发日期"], "fields": fields},
                                ensure_ascii=False))
    lines.insert(3, "{not json")
    path = tmp_path / "licences.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = import_file(env.lib, org, path, env.types["business_licence"].code)
    assert (summary.stored, summary.failed) == (10, 1)
    assert [(p[0], p[2]) for p in _report(env, summary.job_id)] == [("4", "row_not_json")]


def test_a_stopped_import_resumes_without_writing_a_row_twice(library_env: LibraryEnv, tmp_path: Path) -> None:
    env, org = library_env, library_env.departments["market"]
    rows, cols = _rows(env, 90)
    path = _csv(tmp_path / "stop.csv", rows, cols)
    numbers = [r["证照编号"] for r in rows]

    def stop_after_two(summary: ImportSummary) -> None:
        if summary.read >= 60:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(env.lib, org, path, env.types["business_licence"].code, chunk=30, on_progress=stop_after_two)
    assert _stored(env, numbers) == 60  # whole chunks only
    with env.lib.sessions() as s:
        assert s.scalar(select(ImportJob.state).order_by(ImportJob.id.desc()).limit(1)) == "failed"
    summary = import_file(env.lib, org, path, env.types["business_licence"].code, chunk=30)
    assert (summary.stored, summary.skipped) == (30, 60)
    assert _stored(env, numbers) == 90
    assert get_job(env.lib, org, summary.job_id).state == "done"


def test_refused_before_any_row(library_env: LibraryEnv, tmp_path: Path) -> None:
    env = library_env
    rows, cols = _rows(env, 3)
    path = _csv(tmp_path / "x.csv", rows, cols)
    with pytest.raises(Forbidden) as exc:
        import_file(env.lib, env.departments["land"], path, env.types["business_licence"].code)
    assert exc.value.code == "type_not_issuable"
    bad = _csv(tmp_path / "y.csv", [{**r, "备注": "x"} for r in rows], cols + ["备注"])
    with pytest.raises(BadInput) as exc:
        import_file(env.lib, env.departments["market"], bad, env.types["business_licence"].code)
    assert exc.value.code == "import_column_unknown" and _stored(env, [r["证照编号"] for r in rows]) == 0


def test_the_command_killed_mid_import_resumes_losing_and_duplicating_nothing(library_env: LibraryEnv,
                                                                              tmp_path: Path) -> None:
    env = library_env
    if env.lib.engine.dialect.name != "sqlite":
        pytest.skip("the command runs the library's code, tested above on both databases; one database suffices")
    code = env.types["business_licence"].code
    run = {**os.environ, **env.env}
    ctype = env.types["business_licence"]
    out = io.StringIO()  # what `certledger sample-import --rows 3000 --bad-every 20` writes (README runs the command)
    write_sample(out, "csv", sample_rows(code, ctype.fields, ctype.holder_kind, 3000,
                                         start=secrets.randbelow(10**5) * 10**4, bad_every=20), headers(ctype.fields))
    sample = out.getvalue()
    path = tmp_path / "export.csv"
    path.write_text(sample, encoding="utf-8")
    numbers = [line.split(",")[0] for line in sample.splitlines()[1:]]
    with env.lib.sessions() as s:
        last_job = s.scalar(select(func.max(ImportJob.id))) or 0
    first = subprocess.Popen([CLI, "import", str(path), "--type", code, "--chunk", "50"], env=run,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with env.lib.sessions() as s:
                job = s.scalar(select(ImportJob).where(ImportJob.id > last_job))
            if job is not None and job.rows_stored >= 100:
                break
            time.sleep(0.02)
        assert first.poll() is None, "the import ended before it could be killed"
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(10)
    with env.lib.sessions() as s:
        job = s.get(ImportJob, job.id)
    stored = _stored(env, numbers)
    assert 0 < stored < 2850 and stored == job.rows_stored and job.state == "running"  # whole chunks, counted

    again = subprocess.run([CLI, "import", str(path), "--type", code], env=run, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert not re.search(r"\w+Warning: ", again.stderr), again.stderr  # a department reads this output
    assert f"stored {2850 - stored}," in again.stdout and f"skipped {stored}" in again.stdout, again.stdout
    assert "refused 150" in again.stdout and _stored(env, numbers) == 2850
    report = (tmp_path / "export.csv.errors.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(report) == 151 and report[1].split(",")[0] == "21"  # the 20th record is the file's row 21


def test_a_file_in_another_encoding_is_named_as_such(library_env: LibraryEnv, tmp_path: Path) -> None:
    env = library_env
    rows, cols = _rows(env, 3)
    path = _csv(tmp_path / "mixed.csv", rows, cols)
    path.write_bytes(path.read_bytes() + "\n".join(["x"] * 2).encode() + b"\n\xff\xfe\xfa,\n")
    with pytest.raises(BadInput) as exc:
        import_file(env.lib, env.departments["market"], path, env.types["business_licence"].code)
    assert exc.value.code == "import_encoding_invalid"


def test_memory_stays_flat_reading_a_200000_row_file(library_env: LibraryEnv, tmp_path: Path) -> None:
    """The importer's reading path (raw rows, in chunks) holds one chunk, not the file: its peak traced memory on
    200,000 rows is the same as on 20,000 (the rows' requests are made from each chunk on the worker processes)."""
    if library_env.lib.engine.dialect.name != "sqlite":
        pytest.skip("reading a file does not touch the database; one database suffices")
    ctype = library_env.types["business_licence"]
    sample = io.StringIO()
    write_sample(sample, "csv", sample_rows(ctype.code, ctype.fields, ctype.holder_kind, 20_000), headers(ctype.fields))
    head, body = sample.getvalue().split("\n", 1)
    path = tmp_path / "big.csv"
    path.write_text(head + "\n" + body * 10, encoding="utf-8")  # the numbers repeat: reading does not mind

    def peak(limit: int) -> tuple[int, int]:
        cols, raw = read_rows(path, "csv", ctype.fields)
        tracemalloc.start()
        try:
            rows = sum(len(part) for part in chunks(itertools.islice(raw, limit), 2_000))
            return rows, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    (small, small_peak), (large, large_peak) = peak(20_000), peak(200_000)
    assert (small, large) == (20_000, 200_000)
    assert large_peak < small_peak * 1.5 and large_peak < 16 * 2**20, (small_peak, large_peak)
