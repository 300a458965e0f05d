"""Issuing departments: issue certificates, read and export their own, fetch their documents, and
change them over their lifecycle (suspend, reinstate, revoke, cancel, withdraw, renew, amend; history).

A department's key acts only on the department's own certificates (403 ``not_your_certificate``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy import Row

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas.certificates import (
    AmendRequest,
    CertificateIssueManyRequest,
    CertificateIssueRequest,
    CertificateOut,
    CertificatePage,
    DepartmentHistoryOut,
    IssuedCertificate,
    IssuedCertificates,
    MassStatusChangeRequest,
    NewVersionOut,
    RenewRequest,
    StatusChangeOut,
    StatusChangeRequest,
)
from api.schemas.common import (
    INT64_MAX,
    BUNDLE_EXAMPLE,
    EXAMPLE_IDENTIFIER,
    AnchorInfo,
    DocumentRef,
    WHOLE_NUMBER,
    hex0x,
)
from ledger.app.library import Library
from ledger.core import statuses
from ledger.core.errors import Forbidden
from ledger.core.record import certificate_metadata
from ledger.issue import issuance, status_changes, versions
from ledger.issue.history import history as certificate_history
from ledger.storage.models import Batch, Certificate
from ledger.verify import stored

router = APIRouter(prefix="/departments", tags=["departments"])
Department = Annotated[Caller, Depends(require_role("department"))]
IdentifierPath = Annotated[str, Path(description="证照标识 (GB/T 36904)", examples=[EXAMPLE_IDENTIFIER])]


def _document(cert: Certificate) -> DocumentRef | None:
    if cert.document_cid is None or cert.document_digest is None:
        return None
    return DocumentRef(cid=cert.document_cid, sha256=cert.document_digest.hex())


def certificate_out(cert: Certificate, batch: Batch | None) -> CertificateOut:
    status = statuses.shown_status(cert.status, cert.valid_until)
    return CertificateOut(
        identifier=cert.identifier, type_code=cert.type_code, number=cert.number, version=cert.version,
        status=status, issue_date=cert.issued_on, valid_from=cert.valid_from, valid_until=cert.valid_until,
        metadata={**certificate_metadata(json.loads(cert.record)), "status": status}, document=_document(cert),
        anchor=AnchorInfo.of(batch),
    )


def _issued_out(issued: issuance.IssuedCertificate) -> IssuedCertificate:
    document = None
    if issued.document_cid is not None and issued.document_sha256 is not None:
        document = DocumentRef(cid=issued.document_cid, sha256=issued.document_sha256)
    return IssuedCertificate(
        identifier=issued.identifier, type_code=issued.type_code, number=issued.number, version=issued.version,
        status=issued.status, leaf=hex0x(issued.leaf), anchor_status="queued", document=document,
    )


# A page is written by orjson as CertificatePage writes it (a naive anchor time is UTC, and UTC is written Z), not
# checked and written again by the model: for a page of 100 that was a quarter of the request's CPU (py-spy, 600,000
# certificates). tests/api/test_certificates.py compares every item with the one-certificate route's model output.
_PAGE_JSON = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _listed(row: Row[Any]) -> dict[str, Any]:
    """A ``CertificateOut`` of a list row (``issuance.list_query``) as plain data, which orjson writes as the model
    would (``_PAGE_JSON``)."""
    (_id, identifier, type_code, number, version, stored_status, issued_on, valid_from, valid_until, record, cid,
     digest, batch_id, batch_status, root, tx_hash, block_number, block_time) = row
    status = statuses.shown_status(stored_status, valid_until)
    anchor: dict[str, Any] = {"batch_id": None, "status": "queued", "root": None, "tx_hash": None,
                              "block_number": None, "anchored_at": None}
    if batch_status is not None:
        anchor = {"batch_id": batch_id, "status": batch_status, "root": hex0x(root), "tx_hash": hex0x(tx_hash),
                  "block_number": block_number, "anchored_at": block_time}
    return {"identifier": identifier, "type_code": type_code, "number": number, "version": version, "status": status,
            "issue_date": issued_on, "valid_from": valid_from, "valid_until": valid_until,
            "metadata": {**certificate_metadata(orjson.loads(record)), "status": status},
            "document": {"cid": cid, "sha256": digest.hex()} if cid is not None and digest is not None else None,
            "anchor": anchor}


def own_certificate(lib: Library, caller: Caller, identifier: str) -> tuple[Certificate, Batch | None]:
    cert, batch = stored.load_certificate(lib, identifier)
    if cert.issuer_org_id != caller.org.id:
        raise Forbidden(
            "not_your_certificate",
            f"certificate {cert.identifier} was issued by another department; a department reads only its own",
            identifier=cert.identifier,
        )
    return cert, batch


@router.post(
    "/certificates",
    summary="Issue one certificate",
    status_code=201,
    response_model=IssuedCertificate,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def issue_one(body: CertificateIssueRequest, lib: LibraryDep, caller: Department) -> IssuedCertificate:
    return _issued_out(issuance.issue_one(lib, caller.org, body.model_dump(mode="json", exclude_none=True)))


@router.post(
    "/certificates/batch",
    summary="Issue many certificates at once (all or none)",
    status_code=201,
    response_model=IssuedCertificates,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def issue_many(body: CertificateIssueManyRequest, lib: LibraryDep, caller: Department) -> IssuedCertificates:
    issued = issuance.issue_many(lib, caller.org, [c.model_dump(mode="json", exclude_none=True) for c in body.certificates])
    return IssuedCertificates(certificates=[_issued_out(i) for i in issued])


@router.get(
    "/certificates",
    summary="List the department's own certificates, newest first, a page at a time",
    response_model=CertificatePage,
    responses=responses(401, 403, 422),
)
def list_own(
    lib: LibraryDep,
    caller: Department,
    type_code: Annotated[str | None, Query(description="only this certificate type")] = None,
    after: Annotated[int | None, Query(ge=0, le=INT64_MAX, description="`next_after` of the previous page"), WHOLE_NUMBER] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size"), WHOLE_NUMBER] = 100,
) -> Response:
    rows, next_after = issuance.list_certificates(lib, caller.org.id, type_code=type_code, after_id=after, limit=limit)
    page = {"items": [_listed(r) for r in rows], "next_after": next_after}
    return Response(orjson.dumps(page, option=_PAGE_JSON), media_type="application/json")


@router.get(
    "/certificates/{identifier}",
    summary="Get one of the department's certificates",
    response_model=CertificateOut,
    responses=responses(401, 403, 404, 422),
)
def get_one(identifier: IdentifierPath, lib: LibraryDep, caller: Department) -> CertificateOut:
    return certificate_out(*own_certificate(lib, caller, identifier))


@router.get(
    "/certificates/{identifier}/document",
    summary="Fetch the certificate's sealed PDF (decrypted)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "the sealed PDF"}, **responses(401, 403, 404, 422, 503)},
)
def fetch_document(identifier: IdentifierPath, lib: LibraryDep, caller: Department) -> Response:
    cert, _ = own_certificate(lib, caller, identifier)
    pdf = issuance.fetch_document(lib, cert.identifier)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{cert.identifier}.pdf"'})


@router.get(
    "/certificates/{identifier}/bundle",
    summary="Export the certificate's proof bundle (once anchored)",
    response_model=dict[str, Any],
    responses={200: {"content": {"application/json": {"example": BUNDLE_EXAMPLE}},
                     "description": "the proof bundle, see docs/proof-bundle.md"}, **responses(401, 403, 404, 409, 422)},
)
def export_bundle(identifier: IdentifierPath, lib: LibraryDep, caller: Department) -> dict[str, Any]:
    cert, _ = own_certificate(lib, caller, identifier)
    return stored.export_bundle(lib, cert.identifier)


# ---------------------------------------------------------------------- lifecycle

LIFECYCLE_ERRORS = responses(401, 403, 404, 409, 413, 422, 503)


def _change_status(lib: Library, caller: Caller, identifiers: list[str],
                   body: StatusChangeRequest) -> StatusChangeOut:
    change = status_changes.change_status(lib, caller.org, identifiers, body.action, body.reason,
                                     reason_code=body.reason_code, actor=f"api:{caller.key_prefix}")
    return StatusChangeOut.model_validate(change, from_attributes=True)


@router.post(
    "/certificates/status",
    summary="Change the status of many of the department's certificates (in a few chain transactions)",
    response_model=StatusChangeOut,
    responses=LIFECYCLE_ERRORS,
)
def change_status_many(body: MassStatusChangeRequest, lib: LibraryDep,
                       caller: Department) -> StatusChangeOut:
    return _change_status(lib, caller, body.identifiers, body)


@router.post(
    "/certificates/{identifier}/status",
    summary="Suspend, reinstate, revoke, cancel or withdraw one of the department's certificates",
    response_model=StatusChangeOut,
    responses=LIFECYCLE_ERRORS,
)
def change_status(identifier: IdentifierPath, body: StatusChangeRequest, lib: LibraryDep,
                  caller: Department) -> StatusChangeOut:
    return _change_status(lib, caller, [identifier], body)


def _new_version(lib: Library, caller: Caller, identifier: str, action: str,
                 body: RenewRequest | AmendRequest) -> NewVersionOut:
    """Renew and amend alike: the body's changes (beside the reason) go to versions.new_version."""
    changes = body.model_dump(mode="json", exclude_none=True, exclude={"reason", "reason_code"})
    new = versions.new_version(lib, caller.org, identifier, action, changes, reason=body.reason,
                                reason_code=body.reason_code, actor=f"api:{caller.key_prefix}")
    issued = _issued_out(new.issued)
    return NewVersionOut(
        identifier=issued.identifier, version=issued.version, supersedes=new.supersedes,
        superseded_tx_hash=new.tx_hash, superseded_block_number=new.block_number, anchor_status="queued",
        leaf=issued.leaf, document=issued.document,
    )


@router.post(
    "/certificates/{identifier}/renew",
    summary="Renew (延续): a new version with a new validity period; this one becomes superseded (08)",
    status_code=201,
    response_model=NewVersionOut,
    responses=LIFECYCLE_ERRORS,
)
def renew(identifier: IdentifierPath, body: RenewRequest, lib: LibraryDep,
          caller: Department) -> NewVersionOut:
    return _new_version(lib, caller, identifier, "renew", body)


@router.post(
    "/certificates/{identifier}/amend",
    summary="Amend (变更): a new version with changed fields, same holder; this one becomes superseded (08)",
    status_code=201,
    response_model=NewVersionOut,
    responses=LIFECYCLE_ERRORS,
)
def amend(identifier: IdentifierPath, body: AmendRequest, lib: LibraryDep,
          caller: Department) -> NewVersionOut:
    return _new_version(lib, caller, identifier, "amend", body)


@router.get(
    "/certificates/{identifier}/history",
    summary="The certificate's history: every version's issue and status changes, with their transactions",
    response_model=DepartmentHistoryOut,
    responses=responses(401, 403, 404, 422),
)
def history(identifier: IdentifierPath, lib: LibraryDep, caller: Department) -> DepartmentHistoryOut:
    return DepartmentHistoryOut.model_validate(certificate_history(lib, identifier, org_id=caller.org.id),
                                               from_attributes=True)
