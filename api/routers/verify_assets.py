"""The files of the public verification page (``api.verify_page``): its stylesheet, and the in-browser verifier's
scripts when they are installed under ``api/static/verifier/``. Package data, read once; nothing from elsewhere."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from fastapi import APIRouter, Response

from ledger.core.errors import NotFound

router = APIRouter(tags=["pages"], include_in_schema=False)
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
_VERIFIER_FILE = re.compile(r"^[A-Za-z0-9_.-]+\.(js|mjs|json|css)$")
_TYPES = {"js": "text/javascript", "mjs": "text/javascript", "json": "application/json", "css": "text/css"}


@cache
def _read(*parts: str) -> bytes | None:
    path = resources.files("api").joinpath("static", *parts)
    return path.read_bytes() if path.is_file() else None


@router.get("/verify-assets/verify.css", summary="The public verification page's stylesheet")
def stylesheet() -> Response:
    return Response(_read("verify.css"), media_type="text/css; charset=utf-8", headers=HEADERS)


@router.get("/static/verifier/{name}", summary="A file of the in-browser verifier, when installed")
def verifier_file(name: str) -> Response:
    data = _read("verifier", name) if _VERIFIER_FILE.match(name) and not name.startswith(".") else None
    if data is None:
        raise NotFound("asset_not_found", f"the in-browser verifier has no file {name!r}")
    return Response(data, media_type=f"{_TYPES[name.rsplit('.', 1)[1]]}; charset=utf-8", headers=HEADERS)
