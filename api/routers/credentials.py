"""Standard formats (W3C VC 2.0, Bitstring status lists, did:web, SD-JWT VC): the public documents a
verifier resolves, and the credentials themselves for the holder (token) and the issuing department (key).

Credentials carry personal data: only their holder and their issuing department get them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.ratelimit import public_rate_limit
from api.routers.holders import Holder
from api.schemas.credentials import (
    CONTEXT_EXAMPLE,
    DID_EXAMPLE,
    STATUS_LIST_EXAMPLE,
    VC_EXAMPLE,
    SdJwtOut,
    SdJwtRequest,
    SdJwtVerificationOut,
    SdJwtVerifyRequest,
)
from ledger.core.errors import Forbidden
from ledger.credentials import certificate_vc, contexts, issuers, report_vc, sd_jwt, status_lists, token_status
from ledger.issue import reports

router = APIRouter()
Department = Annotated[Caller, Depends(require_role("department"))]
Association = Annotated[Caller, Depends(require_role("association"))]
CreditCode = Annotated[str, Path(description="the department's unified social credit code",
                                 examples=["11430100MB1577322W"], max_length=18)]
Identifier = Annotated[str, Path(description="the certificate identifier (GB/T 36904)", max_length=96)]
_PUBLIC = [Depends(public_rate_limit)]


class LdJson(JSONResponse):
    media_type = "application/ld+json"


class DidJson(JSONResponse):
    media_type = "application/did+ld+json"


class VcJson(JSONResponse):
    media_type = "application/vc+ld+json"


class StatusListJwt(Response):
    media_type = "application/statuslist+jwt"


def _documented(response_class: type[Response], example: Any, description: str, *errors: int) -> dict[str, Any]:
    """The route options documenting a JSON-LD (or JWT) answer of another media type, and its errors."""
    if response_class is StatusListJwt:  # not JSON: its errors (JSON) are documented by reference
        errors_doc = {s: {"description": r["description"], "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{r['model'].__name__}"}}}}
            for s, r in responses(*errors, 422).items()}
        return {"response_class": StatusListJwt, "responses": {200: {"description": description, "content": {
            StatusListJwt.media_type: {"schema": {"type": "string"}, "example": example}}}, **errors_doc}}
    content = {response_class.media_type: {"schema": {"type": "object"}, "example": example},
               "application/json": {"schema": {"type": "object"}, "example": example}}
    return {"responses": {200: {"description": description, "content": content}, **responses(*errors, 422)}}


def _answer(response_class: type[Response], body: Any, max_age: int | None = None) -> Response:
    cache = f"public, max-age={max_age}" if max_age is not None else "no-store"
    return response_class(body, headers={"Cache-Control": cache})


@router.get(contexts.OUR_CONTEXT_PATH, tags=["public"], dependencies=_PUBLIC,
            summary="Our JSON-LD context for the GB/T 36903 fields (the same file is packaged with the code)",
            **_documented(LdJson, CONTEXT_EXAMPLE, "the context", 429))
def our_context() -> Response:
    return _answer(LdJson, contexts.context_document(contexts.OUR_CONTEXT_FILE), 86400)


@router.get("/dids/{credit_code}/did.json", tags=["public"], dependencies=_PUBLIC,
            summary="A department's DID document (did:web): its P-256 seal keys as Multikeys",
            **_documented(DidJson, DID_EXAMPLE, "the DID document", 404, 429))
def did_document(lib: LibraryDep, credit_code: CreditCode) -> Response:
    return _answer(DidJson, issuers.did_document(lib, credit_code), 300)


@router.get("/status-lists/{credit_code}/{purpose}", tags=["public"], dependencies=_PUBLIC,
            summary="A department's Bitstring status list credential (purpose: revocation or suspension)",
            **_documented(VcJson, STATUS_LIST_EXAMPLE, "the signed status list credential", 404, 409, 429))
def status_list(lib: LibraryDep, credit_code: CreditCode,
                purpose: Annotated[str, Path(examples=["revocation"], max_length=16)]) -> Response:
    return _answer(VcJson, status_lists.status_list_credential(lib, credit_code, purpose), int(status_lists.CACHE_S))


@router.get("/status-lists/{credit_code}", tags=["public"], dependencies=_PUBLIC,
            summary="A department's statuses as an IETF Token Status List (the `status` of its SD-JWT VCs)",
            **_documented(StatusListJwt, "eyJ0eXAiOiJzdGF0dXNsaXN0K2p3dCIs…", "the signed token", 404, 409, 429))
def token_status_list(lib: LibraryDep, credit_code: CreditCode) -> Response:
    return _answer(StatusListJwt, token_status.token_status_list(lib, credit_code), int(status_lists.CACHE_S))


@router.get("/holders/me/certificates/{identifier}/vc", tags=["holders"],
            summary="My certificate as a W3C Verifiable Credential 2.0 (signed by its department)",
            **_documented(VcJson, VC_EXAMPLE, "the signed credential (personal data: not cached)", 401, 404, 409))
def holder_vc(lib: LibraryDep, holder: Holder, identifier: Identifier) -> Response:
    return _answer(VcJson, certificate_vc.certificate_credential(lib, identifier, holder_key=holder))


@router.get("/departments/certificates/{identifier}/vc", tags=["departments"],
            summary="One of our certificates as a W3C Verifiable Credential 2.0",
            **_documented(VcJson, VC_EXAMPLE, "the signed credential (personal data: not cached)", 401, 403, 404, 409))
def department_vc(lib: LibraryDep, caller: Department, identifier: Identifier) -> Response:
    return _answer(VcJson, certificate_vc.certificate_credential(lib, identifier, org_id=caller.org.id))


@router.get("/associations/reports/{identifier}/vc", tags=["associations"],
            summary="One of our report summaries as a W3C Verifiable Credential 2.0 (once anchored)",
            **_documented(VcJson, VC_EXAMPLE, "the signed credential", 401, 403, 404, 409))
def association_vc(lib: LibraryDep, caller: Association,
                   identifier: Annotated[str, Path(description="RS.<association credit code>.<report number>")]
                   ) -> Response:
    bundle = reports.export_bundle(lib, identifier)
    if bundle["record"]["association_code"] != caller.org.uscc:
        raise Forbidden("not_your_report", f"这份报告摘要不是本协会提交的 / report {identifier} was submitted by another "
                        "association; an association reads only its own", identifier=identifier)
    return _answer(VcJson, report_vc.report_credential(lib, caller.org, bundle))


@router.post("/holders/certificates/{identifier}/sd-jwt", tags=["holders"], response_model=SdJwtOut,
             responses=responses(401, 404, 409, 422),
             summary="My certificate as an SD-JWT VC revealing only the fields I choose (for a share)")
def holder_sd_jwt(lib: LibraryDep, holder: Holder, identifier: Identifier, body: SdJwtRequest) -> SdJwtOut:
    return SdJwtOut(sd_jwt=sd_jwt.certificate_sd_jwt(lib, identifier, body.disclose, holder_key=holder))


@router.post("/verify/sd-jwt", tags=["public"], dependencies=_PUBLIC, response_model=SdJwtVerificationOut,
             responses=responses(422, 429),
             summary="Verify an SD-JWT VC of this platform's departments: signature, disclosures, status, anchor")
def verify_sd_jwt(lib: LibraryDep, body: SdJwtVerifyRequest) -> SdJwtVerificationOut:
    return SdJwtVerificationOut.model_validate(sd_jwt.verify_here(lib, body.sd_jwt))
