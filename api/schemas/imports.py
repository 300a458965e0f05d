"""Imports of a department's existing records: the job and its progress."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ledger.issue.importer import ImportSummary


class ImportJobOut(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": 7, "state": "running", "rows_read": 120000, "rows_stored": 118750, "rows_skipped": 50,
        "rows_failed": 1200, "errors": 1310, "error_code": None, "error_message": None,
        "errors_csv": "/departments/imports/7/errors.csv"}]})

    id: int
    state: str = Field(description="queued | running | done | failed")
    rows_read: int
    rows_stored: int
    rows_skipped: int = Field(description="stored before with the same content (a re-run skips them)")
    rows_failed: int = Field(description="rows with at least one problem (see errors.csv)")
    errors: int = Field(description="problems listed in errors.csv (a row may have several)")
    error_code: str | None = Field(None, description="why a failed job stopped")
    error_message: str | None = None
    errors_csv: str = Field(description="the error report: row, column, code, zh-CN / English reason")

    @classmethod
    def of(cls, s: ImportSummary) -> ImportJobOut:
        return cls(id=s.job_id, state=s.state, rows_read=s.read, rows_stored=s.stored, rows_skipped=s.skipped,
                   rows_failed=s.failed, errors=s.errors, error_code=s.error_code, error_message=s.error_message,
                   errors_csv=f"/departments/imports/{s.job_id}/errors.csv")
