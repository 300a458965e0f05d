"""verifier-js verifies the holder's W3C VC 2.0 and SD-JWT VC in a real browser (issue 14 item 4): chromium opens a
page of the real API (uvicorn), loads ``/static/verifier/verifier.js`` as that page would, and verifies a
certificate's exports against the sealed trust list (``GET /public/trust``) and the chain node itself; the first
``verifyCredential`` / ``verifySdJwt`` imports ``credential.js`` (jsonld) and ``sd_jwt.js`` from beside
``verifier.js``, which must be served and allowed by the page's Content-Security-Policy. The DID document and the
status lists are passed as ``documents`` (the test library's public URL is not this server's address).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from ledger.app.onboarding import create_api_key
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from tests.fixtures.library import LibraryEnv, sample_request

CHROMIUM = "/usr/bin/chromium"
VERIFY = """async ([input, kind, options, rpc]) => {
  const trust = CertledgerVerifier.loadTrustList(await (await fetch('/public/trust')).text());
  const verifier = new CertledgerVerifier.Verifier(rpc, trust);
  const result = kind === 'vc' ? await verifier.verifyCredential(input, options)
    : await verifier.verifySdJwt(input, options);
  return { verdict: result.verdict, checks: Object.fromEntries(result.checks.map((c) => [c.name, c.status])) };
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/apt-packages.txt)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


def _exports(library_env: LibraryEnv, api: str) -> tuple[str, dict[str, Any], str]:
    """An anchored certificate's identifier, its VC (the department's copy) and an SD-JWT VC (the holder's)."""
    lib, market = library_env.lib, library_env.departments["market"]
    request = sample_request(library_env.types["business_licence"])
    [cert] = issue_many(lib, market, [request])
    Anchorer(lib).run_once(force=True)
    dept = create_api_key(lib, market.id, ["department"])
    admin = create_api_key(lib, library_env.platform.id, ["admin"])
    vc = httpx.get(f"{api}/departments/certificates/{cert.identifier}/vc", headers={"X-API-Key": dept}, timeout=30)
    assert vc.status_code == 200, vc.text
    token = httpx.post(f"{api}/holders/tokens", headers={"X-API-Key": admin}, timeout=30, json={
        "id_type": request["holder_id_type"], "id_number": request["holder_id"]}).json()["token"]
    sd = httpx.post(f"{api}/holders/certificates/{cert.identifier}/sd-jwt", timeout=30, json={"disclose": ["name"]},
                    headers={"Authorization": f"Bearer {token}"})
    assert sd.status_code == 200, sd.text
    return cert.identifier, vc.json(), sd.json()["sd_jwt"]


def _documents(library_env: LibraryEnv, api: str, did: str, urls: list[str]) -> dict[str, Any]:
    """What a verifier resolves, fetched from this server (the library's public URL stands for it)."""
    public = library_env.lib.settings.public_url
    docs: dict[str, Any] = {did: httpx.get(f"{api}/dids/{did.rsplit(':', 1)[1]}/did.json", timeout=30).json()}
    for url in urls:
        r = httpx.get(api + url.removeprefix(public), timeout=30)
        assert r.status_code == 200, r.text
        docs[url] = r.text if "statuslist+jwt" in r.headers["content-type"] else r.json()
    return docs


def test_the_browser_verifies_a_vc_and_an_sd_jwt_with_the_lazy_modules(
        browser: Browser, api_server: str, library_env: LibraryEnv) -> None:
    identifier, vc, sd_jwt = _exports(library_env, api_server)
    payload = json.loads(base64.urlsafe_b64decode(sd_jwt.split(".")[1] + "=="))
    options = {"platformUrl": library_env.lib.settings.public_url}
    vc_docs = _documents(library_env, api_server, vc["issuer"]["id"],
                         [e["statusListCredential"] for e in vc["credentialStatus"]])
    sd_docs = _documents(library_env, api_server, payload["iss"], [payload["status"]["status_list"]["uri"]])
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url.rsplit("/", 1)[-1]) if "/static/verifier/" in r.url else None)
    page.goto(f"{api_server}/verify/{identifier}")
    page.add_script_tag(url="/static/verifier/verifier.js")
    rpc = library_env.env["CERTLEDGER_RPC_URL"]
    vc_result = page.evaluate(VERIFY, [vc, "vc", {**options, "documents": vc_docs}, rpc])
    sd_result = page.evaluate(VERIFY, [sd_jwt, "sd-jwt", {**options, "documents": sd_docs}, rpc])
    assert not errors, errors
    assert vc_result == {"verdict": "VALID", "checks": {n: "VALID" for n in (
        "contexts", "issuer_trusted", "verification_method", "proof", "validity_period", "status", "anchor")}}
    assert sd_result["verdict"] == "VALID" and sd_result["checks"]["anchor"] == "VALID", sd_result
    assert {"verifier.js", "credential.js", "sd_jwt.js"} <= set(loaded), loaded
