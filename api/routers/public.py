"""Anyone: verify a proof bundle, or the address printed as the certificate's QR code (a page for a browser, JSON
for an API client), fetch a certificate's public proof. No key; rate-limited."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, Path, Request, Response

from api.deps import Lang, LibraryDep
from api.errors import responses
from api.ratelimit import public_rate_limit
from api.routers.browser_verifier import rpc_url_for_browsers
from api.schemas.common import BUNDLE_EXAMPLE, EXAMPLE_IDENTIFIER
from api.schemas.verification import BUNDLE_DESCRIPTION, TrustListOut, VerificationOut
from api.verify_page import render, render_error, wants_html
from api.verifying import public_view, verify_bundle, verify_identifier
from ledger.app.library import Library
from ledger.core.errors import CertledgerError
from ledger.holders.lookups import note_lookup
from ledger.issue.history import history
from ledger.verify.platform_trust import published_trust_list
from ledger.verify.public_proof import public_proof

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
    lang: Lang,
) -> VerificationOut:
    return verify_bundle(lib, bundle, lang)


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
    summary="Verify the certificate a QR code names (no key; no personal data in the answer): an HTML page for a "
            "browser (Accept: text/html), else JSON",
    response_model=VerificationOut,
    responses=PUBLIC_ERRORS,
)
def verify_qr(
    identifier: Annotated[str, Path(description="证照标识 (GB/T 36904)", examples=[EXAMPLE_IDENTIFIER])],
    request: Request,
    response: Response,
    lib: LibraryDep,
    lang: Lang,
) -> Any:
    if not wants_html(request.headers.get("accept")):
        response.headers["Vary"] = PAGE_HEADERS["Vary"]  # one address, two answers: caches keep them apart
        return public_view(verify_identifier(lib, identifier, lang))
    try:
        result = verify_identifier(lib, identifier, lang).model_dump()
        events = [{"at": e.at, "action": e.action, "status": e.status} for e in history(lib, identifier).events]
    except CertledgerError as e:
        return Response(render_error(e.code), status_code=e.http_status, media_type="text/html; charset=utf-8",
                        headers=page_headers(lib))
    note_lookup(lib, result["certificate"])  # the page shows the holder masked: the holder's log says so ("public")
    anchored = bool(result["certificate"].get("root"))
    page = render(result, events, bundle_url=f"/public/proofs/{identifier}" if anchored else None, lang=lang)
    return Response(page, media_type="text/html; charset=utf-8", headers=page_headers(lib))


@router.get(
    "/public/proofs/{identifier}",
    summary="A certificate's public proof (certledger/public-proof/1): its leaf, Merkle proof, root, anchor and seal "
            "certificate, with no personal data (the record is replaced by its public summary); 409 while pending",
    responses={200: {"description": "the public proof", "content": {"application/json": {"example": {
        "format": "certledger/public-proof/1", "identifier": EXAMPLE_IDENTIFIER, "record_included": False,
        "summary": {"identifier": EXAMPLE_IDENTIFIER, "name": "营业执照", "issuing_department": "市场监督管理局"},
        "leaf": BUNDLE_EXAMPLE["leaf"], "root": BUNDLE_EXAMPLE["root"], "proof": BUNDLE_EXAMPLE["proof"],
        "chain": BUNDLE_EXAMPLE["chain"], "seal": BUNDLE_EXAMPLE["seal"], "trust": BUNDLE_EXAMPLE["trust"]}}}},
               **responses(404, 409, 422, 429)},
)
def proof(
    identifier: Annotated[str, Path(description="证照标识 (GB/T 36904)", examples=[EXAMPLE_IDENTIFIER])],
    lib: LibraryDep,
) -> dict[str, Any]:
    return public_proof(lib, identifier)


# The page loads only this service's files; the in-browser verifier talks to this origin and the chain node only.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' {rpc}; "
            "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept, Accept-Language",
}


def page_headers(lib: Library) -> dict[str, str]:
    """The page's headers: its script verifies against the chain node itself (``rpc_url_for_browsers``), so
    connect-src allows that origin besides the page's own."""
    rpc = urlsplit(rpc_url_for_browsers(lib))
    origin = f"{rpc.scheme}://{rpc.netloc}" if rpc.scheme in ("http", "https") and rpc.netloc else ""
    return {**PAGE_HEADERS, "Content-Security-Policy": PAGE_CSP.format(rpc=origin).replace(" ;", ";")}
