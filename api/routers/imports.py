"""Departments load their existing records (存量证照) from an export of their own system: upload, progress,
error report (the API's form of ``certledger import``; docs/import.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from fastapi.responses import StreamingResponse

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas.common import INT64_MAX
from api.schemas.imports import ImportJobOut
from ledger.issue import importer

router = APIRouter(prefix="/departments", tags=["departments"])
JobId = Annotated[int, Path(ge=1, le=INT64_MAX, description="the import job's id", examples=[3])]
Department = Annotated[Caller, Depends(require_role("department"))]


@router.post(
    "/imports",
    summary="Upload an export (CSV, XLSX or JSON Lines) of one of your certificate types; imported in the background",
    description=(
        "Answers 202 with the job at once; follow it with `GET /departments/imports/{id}`. Columns are the API's "
        "keys or the Chinese labels of the type's schema; CSV in UTF-8 or GB18030. Every good row is issued and "
        "queued for anchoring, every bad row is listed in `errors.csv`; rows already stored (same department, "
        "type and number, same content) are skipped, so uploading the same file again goes on where it stopped. "
        "Refused before any row: `type_not_issuable` (403, not your type), `type_code_unknown`, "
        "`import_format_unknown` (422); a file whose header names unknown columns or lacks required ones ends "
        "the job as `failed` (`import_column_unknown`, `import_column_missing`)."
    ),
    status_code=202,
    response_model=ImportJobOut,
    responses=responses(401, 403, 413, 422, 503),
)
def upload_import(
    lib: LibraryDep, caller: Department,
    file: Annotated[UploadFile, File(description="the export: .csv, .xlsx or .jsonl")],
    type_code: Annotated[str, Form(description="the certificate type of every row (21 characters)")],
    fmt: Annotated[str | None, Form(alias="format", description="csv | xlsx | jsonl (default: from the file name)")] = None,
) -> ImportJobOut:
    job_id = importer.start_upload(lib, caller.org, type_code, file.filename or "upload.csv", file.file, fmt)
    return ImportJobOut.of(importer.get_job(lib, caller.org, job_id))


@router.get("/imports/{job_id}", summary="An import's progress: rows read, stored, skipped and failed",
            response_model=ImportJobOut, responses=responses(401, 403, 404, 422))
def import_progress(job_id: JobId, lib: LibraryDep, caller: Department) -> ImportJobOut:
    return ImportJobOut.of(importer.get_job(lib, caller.org, job_id))


@router.get("/imports/{job_id}/errors.csv", summary="An import's error report (CSV, UTF-8 with BOM for Excel)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "行号 row, 列 column, 代码 code, 原因 reason: one line per problem"},
                       **responses(401, 403, 404, 422)})
def import_errors(job_id: JobId, lib: LibraryDep, caller: Department) -> StreamingResponse:
    importer.get_job(lib, caller.org, job_id)
    return StreamingResponse(importer.errors_csv(lib, job_id), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="import-{job_id}-errors.csv"'})
