"""Counters (and departments, the admin) search the library's report summaries and verify them,
by identifier or by the report document a person hands in."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from api.deps import Lang, LibraryDep
from api.errors import responses
from api.routers.associations import ReportId, report_out
from api.routers.counters import VERIFY_ERRORS
from api.routers.counters import Counter as Reader
from api.schemas.common import INT64_MAX, ISO_DATE, WHOLE_NUMBER
from api.schemas.reports import ReportOut, ReportPage, VerifyReportRequest
from api.schemas.verification import VerificationOut
from api.verifying import json_result
from ledger.core.errors import BadInput
from ledger.issue import reports
from ledger.plan.verifications import count_verification

router = APIRouter(prefix="/counters", tags=["counters"])


@router.get(
    "/reports",
    summary="Search report summaries: by number, name keyword, kind, issuing body, subject, date range",
    response_model=ReportPage,
    responses=responses(401, 403, 422),
)
def search(
    lib: LibraryDep,
    _caller: Reader,
    number: Annotated[str | None, Query(max_length=64, description="报告编号, exactly")] = None,
    name: Annotated[str | None, Query(max_length=200, description="a keyword of the report name")] = None,
    kind: Annotated[str | None, Query(max_length=50, description="报告类型, exactly")] = None,
    issuing_body: Annotated[str | None, Query(max_length=200, description="a keyword of the issuing body")] = None,
    subject: Annotated[str | None, Query(max_length=200, description="a keyword of the subject")] = None,
    date_from: Annotated[dt.date | None, Query(description="report date on or after"), ISO_DATE] = None,
    date_to: Annotated[dt.date | None, Query(description="report date on or before"), ISO_DATE] = None,
    after: Annotated[int | None, Query(ge=0, le=INT64_MAX, description="`next_after` of the previous page"), WHOLE_NUMBER] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size"), WHOLE_NUMBER] = 50,
) -> ReportPage:
    page, next_after = reports.search(lib, number=number, name=name, kind=kind, issuing_body=issuing_body,
                                      subject=subject, date_from=date_from, date_to=date_to, after=after, limit=limit)
    return ReportPage(items=[report_out(r, b) for r, b in page], next_after=next_after)


@router.get(
    "/reports/{identifier}",
    summary="Get one report summary",
    response_model=ReportOut,
    responses=responses(401, 403, 404, 422),
)
def get_one(identifier: ReportId, lib: LibraryDep, _caller: Reader) -> ReportOut:
    return report_out(*reports.get_report(lib, identifier))


@router.post(
    "/verify/report",
    summary="Verify a report summary by its identifier",
    response_model=VerificationOut,
    responses=VERIFY_ERRORS,
)
def verify_report(body: VerifyReportRequest, lib: LibraryDep, caller: Reader, lang: Lang) -> Response:
    result = reports.verify(lib, body.identifier)
    count_verification(lib, caller.org)
    return json_result(result, "report", lang)


@router.post(
    "/verify/report-document",
    summary="Verify a report document (multipart upload): its summary is found by the document's SHA-256",
    response_model=VerificationOut,
    responses=VERIFY_ERRORS,
)
def verify_report_document(
    file: Annotated[UploadFile, File(description="the report document as issued")],
    lib: LibraryDep,
    caller: Reader,
    lang: Lang,
) -> Response:
    data = file.file.read()
    if not data:
        raise BadInput("document_empty", f"the uploaded file {file.filename!r} is empty", filename=file.filename)
    result = reports.verify_document(lib, data)
    count_verification(lib, caller.org)
    return json_result(result, "report_document", lang)
