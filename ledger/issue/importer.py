"""Importing a department's existing records (存量证照) from its own system's export, in chunks.

One pipeline with one-by-one issuance: each row is checked by :func:`ledger.issue.issuance.check_request`,
and the good rows of a chunk are issued by :func:`ledger.issue.issuance.prepare_checked` (identifiers, salts, seals)
and inserted with their anchoring outbox rows, the chunk's row problems and the job's counters in ONE
transaction: a chunk is stored whole or not at all, whatever stops the import (kill -9 included).

Every bad row is reported, never only the first: its absolute row number in the file, the column as the
file names it, a code and a message in Chinese and English (``import_errors``; :func:`errors_csv`).

Idempotent and resumable: the natural key of a row is department + type + number (the certificates'
unique key). A row whose number is already stored with the same content is skipped; with different
content it is reported as ``certificate_conflict`` and never replaces what is stored. Running the same
file again after a stop therefore stores exactly the rows that were not stored yet.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, update

from ledger.app.library import Library
from ledger.app.metrics import IMPORT_ROWS
from ledger.core.errors import BadInput, CertledgerError, Conflict, NotFound
from ledger.core.record import certificate_metadata
from ledger.issue.import_files import Columns, SourceRow, format_of, read_rows
from ledger.issue.issuance import check_issuable, check_request, prepare_checked
from ledger.storage.bulk import bulk_insert
from ledger.storage.engine import writing
from ledger.storage.import_tables import IMPORT_ERRORS, ImportJob, ImportRowError
from ledger.storage.models import CERTIFICATES, CertificateType, Organization, ServiceItem, utcnow

log = logging.getLogger(__name__)
CHUNK = 2_000
_ZH = {
    "field_invalid": "字段值无效", "field_missing": "缺少必填字段", "field_unknown": "未知字段",
    "service_item_unknown": "关联事项编码不存在", "row_not_json": "该行不是 JSON 对象",
    "certificate_conflict": "该编号已以不同内容存入，未覆盖", "type_mismatch": "证照类型与本次导入不符",
    "metadata_invalid": "该行无法读取",
}
ERRORS_HEADER = ("行号 row", "列 column", "代码 code", "原因 reason")


@dataclass(frozen=True)
class ImportSummary:
    """Where a job stands: rows read, stored, skipped (stored before, same content) and failed (with problems)."""

    job_id: int
    state: str
    read: int
    stored: int
    skipped: int
    failed: int
    errors: int = 0  # problems listed in the error report (a row may have several)
    error_code: str | None = None  # why a failed job stopped
    error_message: str | None = None

    @classmethod
    def of(cls, job: ImportJob, errors: int = 0) -> ImportSummary:
        return cls(job.id, job.state, job.rows_read, job.rows_stored, job.rows_skipped, job.rows_failed, errors,
                   job.error_code, job.error_message)


@dataclass
class _Chunk:
    """What one chunk of rows comes to: the requests to issue, the problems, the rows skipped."""

    read: int
    new: list[dict[str, Any]]  # checked metadata of the rows to issue
    problems: list[dict[str, Any]]
    skipped: int = 0

    def problem(self, row: int, column: str, code: str, english: str) -> None:
        zh = _ZH.get(code, "该行有误")
        message = f"{zh}{f'（{column}）' if column else ''}。 / {english}"
        self.problems.append({"row_number": row, "column_name": column, "code": code, "message": message})

    @property
    def failed(self) -> int:
        return len({p["row_number"] for p in self.problems})


def create_job(lib: Library, org: Organization, type_code: str, source: str, fmt: str | None = None) -> int:
    """A queued job for ``org`` importing ``source`` as certificates of ``type_code`` (its own type only)."""
    fmt = format_of(Path(source), fmt)
    with lib.sessions() as session, session.begin():
        ctype = session.scalar(select(CertificateType).where(CertificateType.code == type_code))
        check_issuable(org, ctype, type_code)
        job = ImportJob(org_id=org.id, type_code=type_code, source=Path(source).name[:255], format=fmt,
                        state="queued", rows_read=0, rows_stored=0, rows_skipped=0, rows_failed=0)
        session.add(job)
        session.flush()
        return job.id


def get_job(lib: Library, org: Organization, job_id: int) -> ImportSummary:
    """The job's progress, for the department that started it (another's is not found)."""
    with lib.sessions() as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.org_id != org.id:
            raise NotFound("import_not_found", f"没有编号为 {job_id} 的导入任务 / no import job {job_id} of yours")
        errors = session.query(ImportRowError).filter(ImportRowError.job_id == job_id).count()
        return ImportSummary.of(job, errors)


def run_job(lib: Library, org: Organization, job_id: int, path: Path, *, chunk: int = CHUNK,
            on_progress: Callable[[ImportSummary], None] | None = None) -> ImportSummary:
    """Import the file of a queued job, chunk by chunk; the job is ``done`` or ``failed`` (and raises) after."""
    with lib.sessions() as session:
        job = session.get(ImportJob, job_id)
        ctype = session.scalar(select(CertificateType).where(CertificateType.code == job.type_code))
        known_items = set(session.scalars(select(ServiceItem.code)))
        fmt = job.format
    _set_state(lib, job_id, "running")
    try:
        cols, rows = read_rows(path, fmt, ctype.fields)
        for part in _chunks(rows, chunk):
            summary = _import_chunk(lib, org, job_id, ctype, cols, part, known_items)
            if on_progress:
                on_progress(summary)
    except CertledgerError as exc:
        _set_state(lib, job_id, "failed", exc.code, exc.message)
        raise
    except BaseException as exc:  # a stop (Ctrl-C) too: the job says it ended, the stored chunks stay
        _set_state(lib, job_id, "failed", "import_stopped", f"导入中断，可重新运行续传 / the import stopped ({exc!r}); "
                   "run it again to go on: stored rows are skipped")
        raise
    _set_state(lib, job_id, "done")
    return get_job(lib, org, job_id)


def import_file(lib: Library, org: Organization, path: Path, type_code: str, fmt: str | None = None, *,
                chunk: int = CHUNK, on_progress: Callable[[ImportSummary], None] | None = None) -> ImportSummary:
    """Create a job for the file and run it (the command line's way; the API runs jobs in the background)."""
    job_id = create_job(lib, org, type_code, str(path), fmt)
    return run_job(lib, org, job_id, path, chunk=chunk, on_progress=on_progress)


def start_upload(lib: Library, org: Organization, type_code: str, source: str, upload: BinaryIO,
                 fmt: str | None = None) -> int:
    """Keep an uploaded export under the home folder and import it in a background thread; returns the job id.

    The job's progress is in the database, so any API worker answers for it; the file is removed when the job
    ends (it holds personal data). A job whose process died stays ``running``: upload the file again to go on.
    """
    job_id = create_job(lib, org, type_code, source, fmt)
    folder = lib.settings.home / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job_id}{Path(source).suffix.lower()[:8]}"
    with path.open("wb") as f:
        shutil.copyfileobj(upload, f, 1 << 20)

    def work() -> None:
        try:
            run_job(lib, org, job_id, path)
        except CertledgerError as exc:  # the department's file: recorded in the job by run_job
            log.info("import job refused the file", extra={"job_id": job_id, "code": exc.code})
        except Exception:  # recorded in the job by run_job; logged here for the operator
            log.exception("import job failed", extra={"job_id": job_id})
        finally:
            path.unlink(missing_ok=True)

    threading.Thread(target=work, name=f"import-{job_id}", daemon=True).start()
    return job_id


def _chunks(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    part: list[SourceRow] = []
    for row in rows:
        part.append(row)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part


def _set_state(lib: Library, job_id: int, state: str, code: str | None = None, message: str | None = None) -> None:
    with writing(lib.engine) as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            state=state, error_code=code, error_message=message, updated_at=utcnow()))


def _same(stored: dict[str, Any], meta: dict[str, Any]) -> bool:
    """A stored certificate carries exactly this row's content (the platform's own additions aside)."""
    return all(stored.get(k) == v for k, v in meta.items())


def _check_rows(ctype: CertificateType, cols: Columns, rows: list[SourceRow], known_items: set[str],
                out: _Chunk) -> dict[str, tuple[int, dict[str, Any]]]:
    """The chunk's good rows by number (line, checked metadata); problems and repeats go to ``out``."""
    good: dict[str, tuple[int, dict[str, Any]]] = {}
    for row in rows:
        if row.error is not None or row.request is None:
            out.problem(row.line, "", *(row.error or ("metadata_invalid", "the row cannot be read")))
            continue
        request = dict(row.request)
        given = request.pop("type_code", None)
        if given not in (None, ctype.code):
            out.problem(row.line, cols.header_of("type_code"), "type_mismatch",
                        f"type code {given!r} is not {ctype.code}, the type this import is for")
            continue
        request["type_code"] = ctype.code
        try:
            meta = check_request(ctype, request, known_items)
        except BadInput as exc:
            for e in exc.details.get("errors") or [{"code": exc.code, "message": exc.message, **exc.details}]:
                out.problem(row.line, cols.header_of(e.get("field")), e["code"], e["message"])
            continue
        earlier = good.get(meta["number"])
        if earlier is None:
            good[meta["number"]] = (row.line, meta)
        elif _same(earlier[1], meta):
            out.skipped += 1
        else:
            out.problem(row.line, cols.header_of("number"), "certificate_conflict",
                        f"number {meta['number']} appears at row {earlier[0]} with other content")
    return good


def _stored(lib: Library, org: Organization, type_code: str, numbers: list[str]) -> dict[str, dict[str, Any]]:
    """The metadata stored under these numbers (first versions) by ``org`` for the type."""
    c = CERTIFICATES.c
    if not numbers:
        return {}
    with lib.engine.connect() as conn:
        q = select(c.number, c.record).where(c.issuer_org_id == org.id, c.type_code == type_code,
                                                c.version == 1, c.number.in_(numbers))
        return {number: certificate_metadata(json.loads(record)) for number, record in conn.execute(q)}


def _sort_chunk(lib: Library, org: Organization, ctype: CertificateType, cols: Columns, rows: list[SourceRow],
                known_items: set[str]) -> _Chunk:
    out = _Chunk(len(rows), [], [])
    good = _check_rows(ctype, cols, rows, known_items, out)
    stored = _stored(lib, org, ctype.code, list(good))
    for number, (line, meta) in good.items():
        before = stored.get(number)
        if before is None:
            out.new.append(meta)
        elif _same(before, meta):
            out.skipped += 1
        else:
            out.problem(line, cols.header_of("number"), "certificate_conflict",
                        f"number {number} is already stored with other content; it was not replaced")
    return out


def _import_chunk(lib: Library, org: Organization, job_id: int, ctype: CertificateType, cols: Columns,
                  rows: list[SourceRow], known_items: set[str]) -> ImportSummary:
    """Check, issue and store one chunk in one transaction; a concurrent import of the same rows is retried once."""
    for attempt in (1, 2):
        out = _sort_chunk(lib, org, ctype, cols, rows, known_items)
        try:
            prepared = prepare_checked(lib, org, ctype, out.new) if out.new else None
            with writing(lib.engine) as conn:
                if prepared is not None:
                    prepared.insert(conn)
                bulk_insert(conn, IMPORT_ERRORS, [{"job_id": job_id, **p} for p in out.problems])
                j = ImportJob.__table__.c
                conn.execute(ImportJob.__table__.update().where(j.id == job_id).values(
                    rows_read=j.rows_read + out.read, rows_stored=j.rows_stored + len(out.new),
                    rows_skipped=j.rows_skipped + out.skipped, rows_failed=j.rows_failed + out.failed,
                    updated_at=utcnow()))
            break
        except Conflict:
            if attempt == 2:
                raise
    for outcome, n in (("stored", len(out.new)), ("skipped", out.skipped), ("failed", out.failed)):
        if n:
            IMPORT_ROWS.labels("certificate", outcome).inc(n)
    with lib.sessions() as session:
        return ImportSummary.of(session.get(ImportJob, job_id))


def errors_csv(lib: Library, job_id: int) -> Iterator[str]:
    """The job's row problems as CSV text, UTF-8 with a byte-order mark (so Excel reads the Chinese), by row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(ERRORS_HEADER)
    yield "\ufeff" + buf.getvalue()
    e = IMPORT_ERRORS.c
    q = select(e.row_number, e.column_name, e.code, e.message).where(e.job_id == job_id).order_by(e.row_number, e.id)
    with lib.engine.connect() as conn:
        result = conn.execution_options(yield_per=5_000).execute(q)
        for part in result.partitions():
            buf.seek(0)
            buf.truncate()
            writer.writerows(part)
            yield buf.getvalue()


def write_errors(lib: Library, job_id: int, path: Path) -> int:
    """Write the job's error report to ``path``; returns how many problems it lists."""
    with path.open("w", encoding="utf-8", newline="") as f:
        for text in errors_csv(lib, job_id):
            f.write(text)
    with lib.sessions() as session:
        return session.query(ImportRowError).filter(ImportRowError.job_id == job_id).count()
