"""The public verification page's own stylesheet (``api.verify_page``); the in-browser verifier's scripts are
served by ``api.routers.browser_verifier``. Package data, read once; nothing from elsewhere."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Response

router = APIRouter(tags=["pages"], include_in_schema=False)
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


@cache
def _read(*parts: str) -> bytes | None:
    path = resources.files("api").joinpath("static", *parts)
    return path.read_bytes() if path.is_file() else None


@router.get("/verify-assets/verify.css", summary="The public verification page's stylesheet")
def stylesheet() -> Response:
    return Response(_read("verify.css"), media_type="text/css; charset=utf-8", headers=HEADERS)
