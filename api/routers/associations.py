"""Associations: submit report summaries in batches, read and export their own, fetch their documents.

An association's key acts only on its own reports (403 ``not_your_report``); a key of any other role
is refused (403 ``role_forbidden``), and the contract would refuse its anchor anyway.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas.common import BUNDLE_EXAMPLE, INT64_MAX, AnchorInfo, DocumentRef, WHOLE_NUMBER
from api.schemas.reports import (
    EXAMPLE_REPORT,
    ReportBatchRequest,
    ReportOut,
    ReportPage,
    SubmittedReport,
    SubmittedReports,
)
from ledger.app.library import Library
from ledger.core.errors import Forbidden
from ledger.issue import reports
from ledger.storage.models import Batch, ReportSummary

router = APIRouter(prefix="/associations", tags=["associations"])
Association = Annotated[Caller, Depends(require_role("association"))]
ReportId = Annotated[str, Path(description="RS.<association credit code>.<report number>", examples=[EXAMPLE_REPORT])]


def report_out(report: ReportSummary, batch: Batch | None) -> ReportOut:
    record = json.loads(report.record)
    anchor = AnchorInfo.of(batch)
    digest = report.document_digest.hex()
    return ReportOut(
        identifier=report.identifier, association=record["association"], association_code=record["association_code"],
        name=report.name, number=report.number, kind=report.kind, issuing_body=report.issuing_body,
        subject=report.subject, report_date=report.report_date, conclusion=report.conclusion,
        catalogue=report.catalogue, document_sha256=digest,
        document=DocumentRef(cid=report.document_cid, sha256=digest) if report.document_cid else None,
        status=report.status, anchor=anchor,
    )


def _own(lib: Library, caller: Caller, identifier: str) -> tuple[ReportSummary, Batch | None]:
    report, batch = reports.get_report(lib, identifier)
    if report.association_org_id != caller.org.id:
        raise Forbidden("not_your_report", f"report {report.identifier} was submitted by another association; an "
                        "association reads only its own", identifier=report.identifier)
    return report, batch


@router.post(
    "/reports",
    summary="Submit a batch of report summaries (all or none): sealed, stored, queued for anchoring",
    status_code=201,
    response_model=SubmittedReports,
    responses=responses(401, 403, 409, 413, 422, 503),
)
def submit(body: ReportBatchRequest, lib: LibraryDep, caller: Association) -> SubmittedReports:
    submitted = reports.submit_batch(lib, caller.org, [r.model_dump(mode="json", exclude_none=True)
                                                       for r in body.reports])
    return SubmittedReports(reports=[SubmittedReport(
        identifier=s.identifier, number=s.number, leaf="0x" + s.leaf.hex(), anchor_status="queued",
        document_sha256=s.document_sha256,
        document=DocumentRef(cid=s.document_cid, sha256=s.document_sha256) if s.document_cid else None,
    ) for s in submitted])


@router.get(
    "/reports",
    summary="List the association's own report summaries, newest first, a page at a time",
    response_model=ReportPage,
    responses=responses(401, 403, 422),
)
def list_own(
    lib: LibraryDep,
    caller: Association,
    after: Annotated[int | None, Query(ge=0, le=INT64_MAX, description="`next_after` of the previous page"), WHOLE_NUMBER] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size"), WHOLE_NUMBER] = 100,
) -> ReportPage:
    page, next_after = reports.search(lib, association_id=caller.org.id, after=after, limit=limit)
    return ReportPage(items=[report_out(r, b) for r, b in page], next_after=next_after)


@router.get(
    "/reports/{identifier}",
    summary="Get one of the association's report summaries",
    response_model=ReportOut,
    responses=responses(401, 403, 404, 422),
)
def get_one(identifier: ReportId, lib: LibraryDep, caller: Association) -> ReportOut:
    return report_out(*_own(lib, caller, identifier))


@router.get(
    "/reports/{identifier}/document",
    summary="Fetch the report document (decrypted from IPFS, checked against its digest)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "the document, with the media type it was submitted with"},
               **responses(401, 403, 404, 409, 422, 503)},
)
def fetch_document(identifier: ReportId, lib: LibraryDep, caller: Association) -> Response:
    report, _ = _own(lib, caller, identifier)
    data, media_type = reports.fetch_document(lib, report.identifier)
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="report-{report.id}"'})


@router.get(
    "/reports/{identifier}/bundle",
    summary="Export the report summary's proof bundle (once anchored)",
    response_model=dict[str, Any],
    responses={200: {"content": {"application/json": {"example": BUNDLE_EXAMPLE}},
                     "description": "the proof bundle, see docs/proof-bundle.md"}, **responses(401, 403, 404, 409, 422)},
)
def export_bundle(identifier: ReportId, lib: LibraryDep, caller: Association) -> dict[str, Any]:
    report, _ = _own(lib, caller, identifier)
    return reports.export_bundle(lib, report.identifier)
