"""Importing a department's existing records (存量证照) from its own system's export, in chunks.

One pipeline with one-by-one issuance: each row is checked by :func:`ledger.issue.issuance.check_request`,
and the good rows of a chunk are issued by :func:`ledger.issue.issuance.prepare_checked` (identifiers, salts, seals)
and inserted with their anchoring outbox rows, the chunk's row problems and the job's counters in ONE
transaction: a chunk is stored whole or not at all, whatever stops the import (kill -9 included). The rows of a
large file are checked and issued on the library's worker processes (``ledger.issue.import_workers``), a few
chunks ahead, while this process inserts them in file order.

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
import logging
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update

from ledger.app.library import Library
from ledger.app.metrics import IMPORT_ROWS
from ledger.core.errors import CertledgerError, Conflict, NotFound
from ledger.issue.import_chunks import Chunk, prepare_chunk
from ledger.issue.import_files import Columns, RawRow, count_rows, format_of, read_rows
from ledger.issue.import_workers import PARALLEL_FROM_ROWS, prepared_chunks
from ledger.issue.issuance import check_issuable
from ledger.storage.bulk import bulk_insert
from ledger.storage.engine import writing
from ledger.storage.import_tables import IMPORT_ERRORS, ImportJob, ImportRowError
from ledger.storage.models import CertificateType, Organization, ServiceItem, utcnow

log = logging.getLogger(__name__)
CHUNK = 2_000
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
            on_progress: Callable[[ImportSummary], None] | None = None, workers: bool | None = None) -> ImportSummary:
    """Import the file of a queued job, chunk by chunk; the job is ``done`` or ``failed`` (and raises) after.

    ``workers``: prepare the chunks on the library's worker processes (default: when the file is large).
    """
    with lib.sessions() as session:
        job = session.get(ImportJob, job_id)
        ctype = session.scalar(select(CertificateType).where(CertificateType.code == job.type_code))
        known_items = set(session.scalars(select(ServiceItem.code)))
        fmt = job.format
    _set_state(lib, job_id, "running")
    try:
        cols, rows = read_rows(path, fmt, ctype.fields)
        parallel = workers if workers is not None else (count_rows(path, fmt) or 0) >= PARALLEL_FROM_ROWS
        for part, prepared in prepared_chunks(lib, org, ctype, cols, chunks(rows, chunk), known_items,
                                              parallel=parallel):
            summary = _store(lib, org, job_id, ctype, cols, part, known_items, prepared)
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
                chunk: int = CHUNK, on_progress: Callable[[ImportSummary], None] | None = None,
                workers: bool | None = None) -> ImportSummary:
    """Create a job for the file and run it (the command line's way; the API runs jobs in the background)."""
    job_id = create_job(lib, org, type_code, str(path), fmt)
    return run_job(lib, org, job_id, path, chunk=chunk, on_progress=on_progress, workers=workers)


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


def chunks(rows: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    part: list[RawRow] = []
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


def _store(lib: Library, org: Organization, job_id: int, ctype: CertificateType, cols: Columns,
           rows: list[RawRow], known_items: set[str], chunk: Chunk) -> ImportSummary:
    """Insert one prepared chunk, its problems and the job's counters in ONE transaction.

    A chunk prepared ahead may meet rows another chunk (the same number twice in the file) or another import
    stored meanwhile, or a seal rotated since it was sealed: the insert refuses it whole (``Conflict``) and the
    chunk is prepared again here, now seeing what is stored, once.
    """
    for attempt in (1, 2):
        try:
            with writing(lib.engine) as conn:
                if conn.dialect.name == "postgresql":
                    # a chunk lost with the server's last moments is stored again by the next run, whole (SQLite's
                    # WAL with synchronous=NORMAL makes the same trade); the commit need not wait for the disk
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO off")
                if chunk.prepared is not None:
                    chunk.prepared.insert(conn)
                bulk_insert(conn, IMPORT_ERRORS, [{"job_id": job_id, **p} for p in chunk.problems])
                j = ImportJob.__table__.c
                conn.execute(ImportJob.__table__.update().where(j.id == job_id).values(
                    rows_read=j.rows_read + chunk.read, rows_stored=j.rows_stored + chunk.stored,
                    rows_skipped=j.rows_skipped + chunk.skipped, rows_failed=j.rows_failed + chunk.failed,
                    updated_at=utcnow()))
            break
        except Conflict:
            if attempt == 2:
                raise
            chunk = prepare_chunk(lib, org, ctype, cols, rows, known_items)
    for outcome, n in (("stored", chunk.stored), ("skipped", chunk.skipped), ("failed", chunk.failed)):
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
