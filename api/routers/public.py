"""Anyone: verify a proof bundle, or the address printed as the certificate's QR code. No key; rate-limited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path

from api.deps import LibraryDep
from api.errors import responses
from api.ratelimit import public_rate_limit
from api.schemas.common import BUNDLE_EXAMPLE, EXAMPLE_IDENTIFIER
from api.schemas.verification import BUNDLE_DESCRIPTION, TrustListOut, VerificationOut
from api.verifying import public_view, verify_bundle, verify_identifier
from ledger.verify.platform_trust import published_trust_list

router = APIRouter(tags=["public"], dependencies=[Depends(public_rate_limit)])
PUBLIC_ERRORS = responses(404, 413, 422, 429, 503)


@router.post(
    "/public/verify",
    summary="Verify a proof bundle (no key; rate-limited per client address)",
    response_model=VerificationOut,
    responses=PUBLIC_ERRORS,
)
def verify_public_bundle(
    bundle: Annotated[dict[str, Any], Body(description=BUNDLE_DESCRIPTION, openapi_examples={
        "bundle": {"summary": "an exported bundle", "value": BUNDLE_EXAMPLE}})],
    lib: LibraryDep,
) -> VerificationOut:
    return verify_bundle(lib, bundle)


@router.get(
    "/public/trust",
    summary="The platform's trust list (certledger/trust/1), sealed by the city root: chain id, every genuine "
            "contract deployment, the city seal roots, the audit writer (no key)",
    response_model=TrustListOut,
    response_model_exclude_unset=True,  # served exactly as sealed: no member the list lacks is added
    responses=responses(404, 429),
)
def trust_list(lib: LibraryDep) -> TrustListOut:
    return TrustListOut.model_validate(published_trust_list(lib))


@router.get(
    "/verify/{identifier}",
    summary="Verify the certificate a QR code names (no key; no personal data in the answer)",
    response_model=VerificationOut,
    responses=PUBLIC_ERRORS,
)
def verify_qr(
    identifier: Annotated[str, Path(description="证照标识 (GB/T 36904)", examples=[EXAMPLE_IDENTIFIER])],
    lib: LibraryDep,
) -> VerificationOut:
    return public_view(verify_identifier(lib, identifier))
