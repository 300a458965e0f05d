"""Standard formats (W3C VC 2.0, Bitstring status lists, did:web, SD-JWT VC): the public documents a
verifier resolves, and the credentials themselves for the holder (token) and the issuing department (key).

Credentials carry personal data: only their holder and their issuing department get them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.ratelimit import public_rate_limit
from api.routers.holders import Holder
from ledger.core.errors import Forbidden
from ledger.credentials import certificate_vc, contexts, issuers, report_vc, sd_jwt, status_lists, token_status
from ledger.issue import reports

router = APIRouter()
Department = Annotated[Caller, Depends(require_role("department"))]
Association = Annotated[Caller, Depends(require_role("association"))]
CreditCode = Annotated[str, Path(description="the department's unified social credit code",
                                 examples=["11430100MB1234567X"], max_length=18)]
Identifier = Annotated[str, Path(description="the certificate identifier (GB/T 36904)", max_length=96)]
_PUBLIC = [Depends(public_rate_limit)]
LD_JSON = "application/ld+json"
VC_JSON = "application/vc+ld+json"


def _json(body: dict[str, Any], media_type: str, max_age: int | None = None) -> JSONResponse:
    headers = {"Cache-Control": f"public, max-age={max_age}"} if max_age is not None else {"Cache-Control": "no-store"}
    return JSONResponse(body, media_type=media_type, headers=headers)


@router.get(contexts.OUR_CONTEXT_PATH, tags=["public"], dependencies=_PUBLIC,
            summary="Our JSON-LD context for the GB/T 36903 fields (the same file is packaged with the code)")
def our_context() -> JSONResponse:
    return _json(contexts.context_document(contexts.OUR_CONTEXT_FILE), LD_JSON, 86400)


@router.get("/dids/{credit_code}/did.json", tags=["public"], dependencies=_PUBLIC, responses=responses(404),
            summary="A department's DID document (did:web): its P-256 seal keys as Multikeys")
def did_document(lib: LibraryDep, credit_code: CreditCode) -> JSONResponse:
    return _json(issuers.did_document(lib, credit_code), "application/did+ld+json", 300)


@router.get("/status-lists/{credit_code}/{purpose}", tags=["public"], dependencies=_PUBLIC,
            responses=responses(404, 409),
            summary="A department's Bitstring status list credential (purpose: revocation or suspension)")
def status_list(lib: LibraryDep, credit_code: CreditCode,
                purpose: Annotated[str, Path(examples=["revocation"], max_length=16)]) -> JSONResponse:
    return _json(status_lists.status_list_credential(lib, credit_code, purpose), VC_JSON, int(status_lists.CACHE_S))


@router.get("/holders/me/certificates/{identifier}/vc", tags=["holders"], responses=responses(401, 404, 409),
            summary="My certificate as a W3C Verifiable Credential 2.0 (signed by its department)")
def holder_vc(lib: LibraryDep, holder: Holder, identifier: Identifier) -> JSONResponse:
    return _json(certificate_vc.certificate_credential(lib, identifier, holder_key=holder), VC_JSON)


@router.get("/departments/certificates/{identifier}/vc", tags=["departments"], responses=responses(401, 403, 404, 409),
            summary="One of our certificates as a W3C Verifiable Credential 2.0")
def department_vc(lib: LibraryDep, caller: Department, identifier: Identifier) -> JSONResponse:
    return _json(certificate_vc.certificate_credential(lib, identifier, org_id=caller.org.id), VC_JSON)


@router.get("/associations/reports/{identifier}/vc", tags=["associations"], responses=responses(401, 403, 404, 409),
            summary="One of our report summaries as a W3C Verifiable Credential 2.0 (once anchored)")
def association_vc(lib: LibraryDep, caller: Association,
                   identifier: Annotated[str, Path(description="RS.<association credit code>.<report number>")]
                   ) -> JSONResponse:
    bundle = reports.export_bundle(lib, identifier)
    if bundle["record"]["association_code"] != caller.org.uscc:
        raise Forbidden("not_your_report", f"这份报告摘要不是本协会提交的 / report {identifier} was submitted by another "
                        "association; an association reads only its own", identifier=identifier)
    return _json(report_vc.report_credential(lib, caller.org, bundle), VC_JSON)


@router.get("/status-lists/{credit_code}", tags=["public"], dependencies=_PUBLIC, responses=responses(404, 409),
            response_class=Response,
            summary="A department's statuses as an IETF Token Status List (the `status` of its SD-JWT VCs)")
def token_status_list(lib: LibraryDep, credit_code: CreditCode) -> Response:
    return Response(token_status.token_status_list(lib, credit_code), media_type="application/statuslist+jwt",
                    headers={"Cache-Control": f"public, max-age={int(status_lists.CACHE_S)}"})


class SdJwtRequest(BaseModel):
    disclose: list[str] = Field(max_length=64, description="the fields to reveal: GB/T 36903 names (`holder`, "
                                "`number`, ...) and `fields.<key>` for the type's own fields",
                                examples=[["name", "number", "issuing_department", "valid_until"]])


class SdJwtOut(BaseModel):
    sd_jwt: str = Field(description="issuer-signed JWT, then the chosen disclosures, `~`-separated")


class SdJwtVerifyRequest(BaseModel):
    sd_jwt: str = Field(max_length=65_536)


@router.post("/holders/certificates/{identifier}/sd-jwt", tags=["holders"], response_model=SdJwtOut,
             responses=responses(401, 404, 409, 422),
             summary="My certificate as an SD-JWT VC revealing only the fields I choose (for a share)")
def holder_sd_jwt(lib: LibraryDep, holder: Holder, identifier: Identifier, body: SdJwtRequest) -> SdJwtOut:
    return SdJwtOut(sd_jwt=sd_jwt.certificate_sd_jwt(lib, identifier, body.disclose, holder_key=holder))


@router.post("/verify/sd-jwt", tags=["public"], dependencies=_PUBLIC,
             summary="Verify an SD-JWT VC of this platform's departments: signature, disclosures, status, anchor")
def verify_sd_jwt(lib: LibraryDep, body: SdJwtVerifyRequest) -> dict[str, Any]:
    return sd_jwt.verify_here(lib, body.sd_jwt)
