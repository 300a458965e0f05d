"""The holder's web page (``/me``): one static page (HTML, CSS, vanilla JS) that calls the holders' API with the
holder's token. Its files are package data under ``api/static/``; nothing is fetched from elsewhere. Not part of
the OpenAPI document: it is a page, not an API."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Response

from ledger.core.errors import NotFound

router = APIRouter(tags=["pages"], include_in_schema=False)

ASSETS = {"me.css": "text/css; charset=utf-8", "me.js": "text/javascript; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    return resources.files("api").joinpath("static", name).read_bytes()


@router.get("/me", summary="The holder's page: my certificates, use codes, share links and access log")
def holder_page() -> Response:
    return Response(_read("me.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/me/assets/{name}", summary="A file of the holder's page")
def holder_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("asset_not_found", f"the holder page has no file {name!r}; it has {sorted(ASSETS)}")
    return Response(_read(name), media_type=media_type, headers=HEADERS)
