"""Service counters: verify a certificate by identifier, by proof bundle, or by its sealed PDF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Response, UploadFile

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas import BUNDLE_DESCRIPTION, BUNDLE_EXAMPLE, VerificationOut, VerifyIdentifierRequest
from api.verifying import PDF_MAGIC, json_result, verify_bundle, verify_pdf
from ledger import verification
from ledger.errors import BadInput

router = APIRouter(prefix="/counters", tags=["counters"])
Counter = Annotated[Caller, Depends(require_role("counter", "department", "admin"))]
VERIFY_ERRORS = responses(401, 403, 404, 413, 422, 503)


@router.post(
    "/verify/identifier",
    summary="Verify a certificate by its identifier",
    response_model=VerificationOut,
    responses=VERIFY_ERRORS,
)
def by_identifier(body: VerifyIdentifierRequest, lib: LibraryDep, _caller: Counter) -> Response:
    return json_result(verification.verify_identifier(lib, body.identifier))


@router.post(
    "/verify/bundle",
    summary="Verify a proof bundle",
    response_model=VerificationOut,
    responses=VERIFY_ERRORS,
)
def by_bundle(
    bundle: Annotated[dict[str, Any], Body(description=BUNDLE_DESCRIPTION, openapi_examples={
        "bundle": {"summary": "an exported bundle", "value": BUNDLE_EXAMPLE}})],
    lib: LibraryDep,
    _caller: Counter,
) -> VerificationOut:
    return verify_bundle(lib, bundle)


@router.post(
    "/verify/pdf",
    summary="Verify a sealed certificate PDF (multipart upload, at most the body limit)",
    response_model=VerificationOut,
    responses=VERIFY_ERRORS,
)
def by_pdf(
    file: Annotated[UploadFile, File(description="the certificate's sealed PDF as issued")],
    lib: LibraryDep,
    _caller: Counter,
) -> VerificationOut:
    data = file.file.read()
    if not data.startswith(PDF_MAGIC):
        raise BadInput("pdf_not_pdf", f"the uploaded file {file.filename!r} is not a PDF (it does not start with %PDF-)",
                       filename=file.filename)
    return verify_pdf(lib, data)
