"""Share links: the holder makes, lists and revokes them; anyone with one opens it at ``/shared/{token}`` (a page
for a browser, JSON for ``Accept: application/json``), which shows only the shared fields and is logged in the
holder's access log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import LibraryDep
from api.errors import responses
from api.ratelimit import public_rate_limit
from api.routers.holders import Holder
from api.schemas.sharing import SharedCertificate, ShareLinkCreate, ShareLinkCreated, ShareLinkList, ShareLinkOut
from api.shared_page import render_refusal, render_shared
from ledger.core.errors import CertledgerError
from ledger.holders import sharing

router = APIRouter(tags=["holders"])
public = APIRouter(tags=["public"], dependencies=[Depends(public_rate_limit)])
LinkId = Annotated[int, Path(description="the share link's id", examples=[4])]


@router.post(
    "/holders/me/share-links",
    summary="Share one of my certificates: a time-limited, revocable link, optionally with chosen fields only",
    status_code=201,
    response_model=ShareLinkCreated,
    responses=responses(401, 404, 422),
)
def create_link(body: ShareLinkCreate, lib: LibraryDep, holder: Holder) -> ShareLinkCreated:
    made = sharing.create(lib, holder, body.identifier, fields=body.fields, ttl=dt.timedelta(hours=body.ttl_hours),
                          label=body.label)
    return ShareLinkCreated.model_validate(made)


@router.get("/holders/me/share-links", summary="My share links, with how often each was opened",
            response_model=ShareLinkList, responses=responses(401))
def list_links(lib: LibraryDep, holder: Holder) -> ShareLinkList:
    return ShareLinkList(items=[ShareLinkOut.model_validate(v) for v in sharing.links(lib, holder)])


@router.post("/holders/me/share-links/{link_id}/revoke", summary="Revoke a share link: it no longer opens",
             response_model=ShareLinkList, responses=responses(401, 404, 422))
def revoke_link(link_id: LinkId, lib: LibraryDep, holder: Holder) -> ShareLinkList:
    sharing.revoke(lib, holder, link_id)
    return ShareLinkList(items=[ShareLinkOut.model_validate(v) for v in sharing.links(lib, holder)])


@public.get(
    "/shared/{token}",
    summary="Open a share link: the certificate's verdict and the shared fields only (a page for browsers)",
    response_model=SharedCertificate,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **responses(404, 410, 422, 429)},
)
def open_link(token: Annotated[str, Path(max_length=64)], request: Request, lib: LibraryDep) -> Response | SharedCertificate:
    wants_html = "text/html" in request.headers.get("accept", "")
    try:
        shown = SharedCertificate.model_validate(sharing.open_link(lib, token))
    except CertledgerError as exc:
        if not wants_html:
            raise
        return HTMLResponse(render_refusal(exc), status_code=exc.http_status, headers=PAGE_HEADERS)
    if wants_html:
        return HTMLResponse(render_shared(shown.model_dump(mode="json")), headers=PAGE_HEADERS)
    return shown


PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    "Vary": "Accept",
}
