"""The platform's static pages (the counter's, the holder's, the administrator's): HTML, CSS and vanilla JS that
call the API. Their files are package data under ``api/static/``, read once, so an installed package serves them
with no network, CDN or build step; each answer carries one policy: the page loads only its own files, talks only
to this origin, and nothing may frame it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fastapi import Response

from ledger.core.errors import NotFound


def page_headers(images: str = "'self' data:") -> dict[str, str]:
    return {
        "Content-Security-Policy": f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; "
                                   "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@cache
def _read(name: str) -> bytes:
    return resources.files("api").joinpath("static", name).read_bytes()


@dataclass(frozen=True)
class StaticPage:
    """One page: its HTML file and the assets it may load (name -> media type)."""

    label: str  # the page named in errors: "the counter page"
    html: str
    assets: Mapping[str, str]
    images: str = "'self' data:"

    def page(self) -> Response:
        return Response(_read(self.html), media_type="text/html; charset=utf-8", headers=page_headers(self.images))

    def asset(self, name: str) -> Response:
        media_type = self.assets.get(name)
        if media_type is None:
            raise NotFound("asset_not_found", f"页面没有此文件 / {self.label} has no file {name!r}; it has "
                           f"{sorted(self.assets)}")
        return Response(_read(name), media_type=media_type, headers=page_headers(self.images))
