"""The counter's web page: one static page (HTML, CSS, vanilla JS) that calls the counters' API.

The page itself needs no key (the staff member types it in, and the page sends it as ``X-API-Key``);
its files are package data under ``api/static/``, read once, so an installed package serves them
with no network, CDN or build step. Not part of the OpenAPI document: it is a page, not an API.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Response

from ledger.core.errors import NotFound

router = APIRouter(tags=["pages"], include_in_schema=False)

ASSETS = {"counter.css": "text/css; charset=utf-8", "counter.js": "text/javascript; charset=utf-8",
          "vc-check.js": "text/javascript; charset=utf-8"}
# The page loads only its own files and talks only to this origin; nothing may frame it.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    return resources.files("api").joinpath("static", name).read_bytes()


@router.get("/counter", summary="The counter's verification page")
def counter_page() -> Response:
    return Response(_read("counter.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/counter/assets/{name}", summary="A file of the counter's page")
def counter_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("asset_not_found", f"the counter page has no file {name!r}; it has {sorted(ASSETS)}")
    return Response(_read(name), media_type=media_type, headers=HEADERS)
