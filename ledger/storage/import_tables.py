"""The tables of departments' imports (``ledger.issue.importer``): each job's progress, kept in the database so
that any API worker can report on it, and every problem of every row, for the downloadable error report.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.storage.models import Base, utcnow


class ImportJob(Base):
    """One import of a department's export: its progress, kept in the database so that any API worker can report
    on it. Rows already stored are found by their natural key (department, type, number), not by the job."""

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    type_code: Mapped[str] = mapped_column(String(21))
    source: Mapped[str] = mapped_column(String(255))  # the file's name as the department sent it
    format: Mapped[str] = mapped_column(String(8))  # csv | xlsx | jsonl
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)  # stored before with the same content
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))  # why the whole job failed
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportRowError(Base):
    """One problem of one row of an import: the file's row number and column, a code, a zh-CN / English message."""

    __tablename__ = "import_errors"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int] = mapped_column(BigInteger)
    column_name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


IMPORT_ERRORS = ImportRowError.__table__
