"""What a browser needs to verify a certificate itself (verifier-js): the JavaScript files under
``/static/verifier/`` (package data built from verifier-js/ by esbuild) and ``GET /public/verifier``, the JSON-RPC
endpoint and trust-list address to verify against. The trust list itself is ``GET /public/trust`` (sealed by the
city root; the browser checks its seal), so nothing here has to be trusted beyond the RPC endpoint's answers.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import LibraryDep
from api.errors import responses
from api.ratelimit import public_rate_limit
from ledger.app.library import Library
from ledger.core.errors import NotFound

router = APIRouter(tags=["public"])
SCRIPTS = ("verifier.js", "page.js", "credential.js", "sd_jwt.js")  # the last two: ES modules verifier.js imports lazily
SCRIPT_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


class BrowserVerifierOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "rpc_url": "https://rpc.ledger.example.gov.cn", "trust_list_url": "/public/trust",
        "verifier_url": "/static/verifier/verifier.js"}]})
    rpc_url: str = Field(description="JSON-RPC endpoint of the ledger chain that browsers query (eth_chainId, "
                                     "eth_call): CERTLEDGER_PUBLIC_RPC_URL, else the platform's own")
    trust_list_url: str = Field(description="where the sealed trust list is served")
    verifier_url: str = Field(description="the verifier as one script (global CertledgerVerifier)")


def rpc_url_for_browsers(lib: Library) -> str:
    """The JSON-RPC endpoint browsers verify against (a page's Content-Security-Policy must allow connect-src to
    it): CERTLEDGER_PUBLIC_RPC_URL, else the platform's own."""
    return lib.settings.public_rpc_url or lib.settings.rpc_url


@cache
def _script(name: str) -> bytes:
    return resources.files("api").joinpath("static", "verifier", name).read_bytes()


@router.get(
    "/public/verifier",
    summary="Where a browser verifies a certificate itself: the chain's JSON-RPC endpoint and the trust list (no key)",
    response_model=BrowserVerifierOut,
    responses=responses(429),
    dependencies=[Depends(public_rate_limit)],
)
def browser_verifier(lib: LibraryDep) -> BrowserVerifierOut:
    return BrowserVerifierOut(rpc_url=rpc_url_for_browsers(lib),
                              trust_list_url="/public/trust", verifier_url="/static/verifier/verifier.js")


@router.get("/static/verifier/{name}", include_in_schema=False)
def verifier_script(name: str) -> Response:
    if name not in SCRIPTS:
        raise NotFound("asset_not_found", f"没有这个文件 / the browser verifier has no file {name!r}; it has {list(SCRIPTS)}")
    return Response(_script(name), media_type="text/javascript; charset=utf-8", headers=SCRIPT_HEADERS)
