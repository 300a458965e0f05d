"""Service counters: verify a certificate by identifier, by proof bundle, or by its sealed PDF (each verification
by a counter is counted for the city plan's targets, ``ledger.plan.verifications``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Path, Response, UploadFile

from api.deps import Caller, Lang, LibraryDep, require_role
from api.errors import responses
from api.schemas.certificates import HistoryOut
from api.schemas.common import BUNDLE_EXAMPLE, EXAMPLE_IDENTIFIER
from api.schemas.verification import (
    BUNDLE_DESCRIPTION,
    VerificationOut,
    VerifyIdentifierRequest,
)
from api.verifying import PDF_MAGIC, verify_bundle, verify_pdf, without_consent
from ledger.app.metrics import count_verdict
from ledger.core.errors import BadInput
from ledger.holders import attempts
from ledger.holders.lookups import note_lookup
from ledger.issue.history import history as certificate_history
from ledger.plan.verifications import count_verification
from ledger.verify import service as verification

router = APIRouter(prefix="/counters", tags=["counters"])
COUNTER_ROLES = frozenset({"counter"})  # keys are single-role; api.fast_verify answers with the same roles
Counter = Annotated[Caller, Depends(require_role(*sorted(COUNTER_ROLES)))]
VERIFY_ERRORS = responses(401, 403, 404, 413, 422, 429, 503)
UNKNOWN = frozenset({"certificate_not_found"})  # what a loop over guessed identifiers meets


@router.post(
    "/verify/identifier",
    summary="Verify a certificate by its identifier (no fields; the holder masked)",
    description=(
        "Answers the verdict, the checks, the type, the issuing department and the holder masked (张*三, 长沙**公司; a "
        "personal ID number as 430***********1234). Fields and the full holder come only with the holder's consent: "
        "an intake with their use code (`POST /counters/intakes`, logged in the access log), or their own PDF or "
        "bundle. The holder's access log shows the lookup (this counter, when, masked). 30 unknown identifiers from "
        "one key within 10 minutes lock it out: 429 `unknown_identifier_attempts_exceeded` with Retry-After."
    ),
    response_model=VerificationOut,
    responses=VERIFY_ERRORS,
)
def by_identifier(body: VerifyIdentifierRequest, lib: LibraryDep, caller: Counter, lang: Lang) -> Response:
    with attempts.guarded(lib, caller.key_prefix, attempts.IDENTIFIERS, UNKNOWN):
        result = verification.verify_identifier(lib, body.identifier)
    count_verdict("identifier", result.verdict.value)
    count_verification(lib, caller.org)
    note_lookup(lib, result.certificate, caller.org, caller.staff_id)
    return Response(without_consent(result, lang), media_type="application/json")


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
    caller: Counter,
    lang: Lang,
) -> VerificationOut:
    result = verify_bundle(lib, bundle, lang)
    count_verification(lib, caller.org)
    return result


@router.post(
    "/verify/pdf",
    summary="Verify a sealed certificate PDF (multipart upload, at most the body limit)",
    response_model=VerificationOut,
    responses=VERIFY_ERRORS,
)
def by_pdf(
    file: Annotated[UploadFile, File(description="the certificate's sealed PDF as issued")],
    lib: LibraryDep,
    caller: Counter,
    lang: Lang,
) -> VerificationOut:
    data = file.file.read()
    if not data.startswith(PDF_MAGIC):
        raise BadInput("pdf_not_pdf", f"the uploaded file {file.filename!r} is not a PDF (it does not start with %PDF-)",
                       filename=file.filename)
    result = verify_pdf(lib, data, lang)
    count_verification(lib, caller.org)
    return result


@router.get(
    "/certificates/{identifier}/history",
    summary="A certificate's history: every version's issue and status changes, with their transactions",
    response_model=HistoryOut,
    responses=responses(401, 403, 404, 422, 429),
)
def history(
    identifier: Annotated[str, Path(description="证照标识 (GB/T 36904)", examples=[EXAMPLE_IDENTIFIER])],
    lib: LibraryDep,
    caller: Counter,
) -> HistoryOut:
    with attempts.guarded(lib, caller.key_prefix, attempts.IDENTIFIERS, UNKNOWN):
        events = certificate_history(lib, identifier)
    return HistoryOut.model_validate(events, from_attributes=True)  # drops ``actor``
