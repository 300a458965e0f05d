"""Counter intake: a service item's materials from the holder's certificates, with the holder's use code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas.holders import IntakeOut, IntakeRequest
from ledger.holders import attempts, intake
from ledger.issue.issuance import fetch_document
from ledger.plan.verifications import count_verification

router = APIRouter(prefix="/counters", tags=["counters"])
CounterStaff = Annotated[Caller, Depends(require_role("counter"))]
WRONG_USE_CODE = frozenset({"use_code_unknown", "use_code_malformed"})


@router.post(
    "/intakes",
    summary="Open an intake: each material of the service item with the holder's certificate and its verification",
    description=(
        "Spends the holder's use code and writes an access-log entry listing every certificate returned, in one "
        "transaction. Refusals change nothing: `service_item_not_found` (404), `use_code_unknown` (404), "
        "`use_code_malformed` (422), `use_code_used` (409), `use_code_expired` (409), `field_invalid` / "
        "`field_missing` (422). A code made by another holder is `use_code_unknown` too, so an answer never tells "
        "that a code exists. 10 wrong codes from one key within 10 minutes lock it out: 429 "
        "`use_code_attempts_exceeded` with Retry-After."
    ),
    status_code=201,
    response_model=IntakeOut,
    responses=responses(401, 403, 404, 409, 422, 429, 503),
)
def open_intake(body: IntakeRequest, lib: LibraryDep, caller: CounterStaff) -> IntakeOut:
    with attempts.guarded(lib, caller.key_prefix, attempts.USE_CODES, WRONG_USE_CODE):
        return _open(body, lib, caller)


def _open(body: IntakeRequest, lib: LibraryDep, caller: Caller) -> IntakeOut:
    opened = intake.open_intake(
        lib, caller.org, service_item_code=body.service_item_code, id_type=body.holder.id_type,
        id_number=body.holder.id_number, use_code=body.use_code, case_number=body.case_number,
        staff_id=caller.staff_id or body.staff_id,
    )
    count_verification(lib, caller.org)  # an intake verifies the holder's certificates: the counter is connected
    return IntakeOut.model_validate(opened)


@router.get(
    "/intakes/{intake_id}/certificates/{identifier}/document",
    summary="The sealed PDF of a certificate an intake of this counter showed (for 8 hours after the intake)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "the sealed PDF"}, **responses(401, 403, 404, 422, 503)},
)
def intake_document(
    intake_id: Annotated[str, Path(max_length=32)],
    identifier: Annotated[str, Path(max_length=128)],
    lib: LibraryDep,
    caller: CounterStaff,
) -> Response:
    pdf = fetch_document(lib, intake.intake_certificate(lib, caller.org, intake_id, identifier))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": "inline; filename=certificate.pdf", "Cache-Control": "no-store"})
