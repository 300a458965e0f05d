"""The holder's web page (``/me``): one static page (HTML, CSS, vanilla JS) that calls the holders' API with the
holder's token. Its files are package data under ``api/static/``; nothing is fetched from elsewhere. Not part of
the OpenAPI document: it is a page, not an API."""

from __future__ import annotations


from fastapi import APIRouter, Response

from api.static_pages import StaticPage


router = APIRouter(tags=["pages"], include_in_schema=False)

# the use code's QR code is shown from a blob: image
ME = StaticPage("the holder page", "me.html", {"me.css": "text/css; charset=utf-8",
                                               "me.js": "text/javascript; charset=utf-8"}, images="'self' data: blob:")


@router.get("/me", summary="The holder's page: my certificates, use codes, share links and access log")
def holder_page() -> Response:
    return ME.page()


@router.get("/me/assets/{name}", summary="A file of the holder's page")
def holder_asset(name: str) -> Response:
    return ME.asset(name)
