"""The counter's web page: one static page (HTML, CSS, vanilla JS) that calls the counters' API.

The page itself needs no key (the staff member types it in, and the page sends it as ``X-API-Key``);
its files are package data under ``api/static/``, read once, so an installed package serves them
with no network, CDN or build step. Not part of the OpenAPI document: it is a page, not an API.
"""

from __future__ import annotations


from fastapi import APIRouter, Response

from api.static_pages import StaticPage


router = APIRouter(tags=["pages"], include_in_schema=False)

COUNTER = StaticPage("the counter page", "counter.html", {
    "counter.css": "text/css; charset=utf-8", "counter.js": "text/javascript; charset=utf-8",
    "vc-check.js": "text/javascript; charset=utf-8"})


@router.get("/counter", summary="The counter's verification page")
def counter_page() -> Response:
    return COUNTER.page()


@router.get("/counter/assets/{name}", summary="A file of the counter's page")
def counter_asset(name: str) -> Response:
    return COUNTER.asset(name)
