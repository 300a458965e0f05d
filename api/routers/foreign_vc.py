"""Other cities' credentials: the administrator keeps their issuers on the trust list, a counter verifies a
W3C VC 2.0 (theirs or ours) with named checks (``ledger.credentials.vc_verify``, docs/credentials.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.routers.counters import VERIFY_ERRORS, Counter
from api.schemas.credentials import VC_EXAMPLE
from api.schemas.verification import FOREIGN_ISSUER_EXAMPLE, ForeignIssuerOut, VerificationOut
from api.verifying import json_result
from ledger.credentials import foreign_issuers
from ledger.credentials.vc_verify import verify_credential

router = APIRouter()
Admin = Annotated[Caller, Depends(require_role("admin"))]


class ForeignIssuerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [FOREIGN_ISSUER_EXAMPLE]})

    did: str = Field(max_length=300, description="the other city's issuer, e.g. did:web:zwfw.wuhan.example:dids:...")
    name: str = Field(max_length=200, description="发证机构名称 / the issuer's name")
    did_document: dict[str, Any] | None = Field(None, description="its DID document, pinned (omitted: did:web is "
                                                                 "resolved once, now)")
    status_url_prefix: str | None = Field(None, max_length=300, description="its status lists may be fetched from "
                                                                           "under this URL (omitted: not checked)")


@router.post("/counters/verify/vc", tags=["counters"], response_model=VerificationOut, responses=VERIFY_ERRORS,
             summary="Verify a W3C VC 2.0 (ecdsa-rdfc-2019): this platform's or a trusted other city's")
def verify_vc(credential: Annotated[dict[str, Any], Body(description="the credential (JSON-LD)", openapi_examples={
                  "vc": {"summary": "a W3C VC 2.0", "value": VC_EXAMPLE}})],
              lib: LibraryDep, _caller: Counter) -> Response:
    return json_result(verify_credential(lib, credential), "vc")


@router.get("/admin/trust/issuers", tags=["admin"], response_model=list[ForeignIssuerOut],
            responses={**responses(401, 403), 200: {"content": {"application/json": {
                "example": [FOREIGN_ISSUER_EXAMPLE]}}}}, summary="Other cities' issuers on the trust list")
def list_issuers(lib: LibraryDep, _caller: Admin) -> list[ForeignIssuerOut]:
    return [ForeignIssuerOut.model_validate(i.to_dict()) for i in foreign_issuers.list_issuers(lib)]


@router.post("/admin/trust/issuers", tags=["admin"], status_code=201, response_model=ForeignIssuerOut,
             responses=responses(401, 403, 422, 503),
             summary="Add (or replace) another city's issuer on the trust list; then re-export the list")
def add_issuer(body: ForeignIssuerIn, lib: LibraryDep, _caller: Admin) -> ForeignIssuerOut:
    issuer = foreign_issuers.add_issuer(lib, body.did, body.name, body.did_document, body.status_url_prefix)
    return ForeignIssuerOut.model_validate(issuer.to_dict())


@router.delete("/admin/trust/issuers", tags=["admin"], response_model=ForeignIssuerOut,
               responses=responses(401, 403, 404, 422), summary="Take another city's issuer off the trust list")
def remove_issuer(did: Annotated[str, Query(max_length=300)], lib: LibraryDep, _caller: Admin) -> ForeignIssuerOut:
    return ForeignIssuerOut.model_validate(foreign_issuers.remove_issuer(lib, did).to_dict())
