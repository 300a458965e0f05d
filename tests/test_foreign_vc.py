"""Another city's W3C VC 2.0 at our counter: a "second city" made here (its own P-256 key and did:web document)
signs credentials and its status list with the Digital Bazaar libraries (tests/interop/issue-vc.mjs); once the
administrator puts it on the trust list our counter finds them VALID, and INVALID when the issuer is not on the
list, when tampered, when revoked in its status list, when a context is unknown, or when a property no context
defines is added (to the credential or its status list); our own VCs go through the same route. The exported
trust list carries the issuer under the city root's seal."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.app.onboarding import create_api_key, create_organization
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import BadInput
from ledger.core.uscc import derive_uscc
from ledger.credentials.contexts import OUR_CONTEXT_FILE, OUR_CONTEXT_PATH, VC_V2, context_document
from ledger.credentials.status_lists import MIN_BITS, encode_list
from ledger.verify.platform_trust import export_trust_list
from ledger.verify.trust import load_trust_list
from tests.fixtures.credentials import VcWorld, sign_as_other_city

REVOKED_INDEX, GOOD_INDEX = 9, 5


@dataclass
class SecondCity:
    did: str
    did_document: dict[str, Any]
    good: dict[str, Any]
    revoked: dict[str, Any]
    status_prefix: str
    counter_key: str
    served: dict[str, Any]  # what its server answers, by path


def _credential(did: str, context: str, status_url: str, index: int) -> dict[str, Any]:
    return {
        "@context": [VC_V2, context], "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "EcertCredential"],
        "issuer": {"id": did, "name": "武汉市市场监督管理局"}, "name": "营业执照",
        "validFrom": "2026-01-01T00:00:00+08:00",
        "credentialSubject": {"type": "CertificateHolder", "holderName": "武汉示例科技有限公司",
                              "holderId": "91420100MA00000001", "number": f"WH-2026-{index:06d}",
                              "fields": {"legal_representative": "王五"}},
        "credentialStatus": {"id": f"{status_url}#{index}", "type": "BitstringStatusListEntry",
                             "statusPurpose": "revocation", "statusListIndex": str(index),
                             "statusListCredential": status_url},
    }


def _status_list(did: str, context: str, url: str) -> dict[str, Any]:
    bits = bytearray(MIN_BITS // 8)
    bits[REVOKED_INDEX // 8] |= 0x80 >> (REVOKED_INDEX % 8)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {"@context": [VC_V2, context], "id": url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": did, "validFrom": now.isoformat(), "validUntil": (now + dt.timedelta(hours=1)).isoformat(),
            "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                                  "encodedList": encode_list(bytes(bits))}}


def _serve(documents: dict[str, Any]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = json.dumps(documents[self.path]).encode() if self.path in documents else b"{}"
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", "application/vc+ld+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def second_city(vc_world: VcWorld) -> Iterator[SecondCity]:
    did = f"did:web:zwfw.wuhan.example:dids:{uuid.uuid4().hex[:18].upper()}"
    context = "https://zwfw.wuhan.example" + OUR_CONTEXT_PATH  # the other city runs certledger too
    documents: dict[str, Any] = {}
    server = _serve(documents)
    prefix = f"http://127.0.0.1:{server.server_port}/status-lists/"
    url = prefix + "revocation"
    unsigned = [_credential(did, context, url, GOOD_INDEX), _credential(did, context, url, REVOKED_INDEX),
                _status_list(did, context, url)]
    did_document, signed = sign_as_other_city(did, unsigned, {context: context_document(OUR_CONTEXT_FILE)})
    documents["/status-lists/revocation"] = signed[2]
    lib = vc_world.env.lib
    desk = create_organization(lib, kind="counter", name="政务服务中心外地证照窗口",
                               uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="12"))
    counter = create_api_key(lib, desk.id, ["counter"])
    try:
        yield SecondCity(did, did_document, signed[0], signed[1], prefix, counter, documents)
    finally:
        server.shutdown()


def _verify(w: VcWorld, city: SecondCity, credential: dict[str, Any]) -> dict[str, Any]:
    r = w.client.post("/counters/verify/vc", json=credential, headers={"X-API-Key": city.counter_key})
    assert r.status_code == 200, r.text
    return r.json()


def _check(result: dict[str, Any], name: str) -> tuple[str, str]:
    check = next(c for c in result["checks"] if c["name"] == name)
    return check["status"], check["reason"]


def _add(w: VcWorld, city: SecondCity, **extra: Any) -> None:
    r = w.call("POST", "/admin/trust/issuers", "admin", json={"did": city.did, "name": "武汉市市场监督管理局",
                                                             "did_document": city.did_document, **extra})
    assert r.status_code == 201, r.text


def test_foreign_vc_on_the_trust_list_verifies_and_fails_when_it_should(vc_world: VcWorld,
                                                                        second_city: SecondCity) -> None:
    w, city = vc_world, second_city
    result = _verify(w, city, city.good)
    assert result["verdict"] == "INVALID" and _check(result, "issuer_trusted") == ("INVALID", "issuer_not_trusted")

    r = w.client.post("/admin/trust/issuers", headers={"X-API-Key": city.counter_key},
                      json={"did": city.did, "name": "x", "did_document": city.did_document})
    assert r.status_code == 403
    _add(w, city, status_url_prefix=city.status_prefix)

    result = _verify(w, city, city.good)
    assert result["verdict"] == "VALID", result
    assert {c["name"]: c["reason"] for c in result["checks"]} == {
        "contexts": "contexts_packaged", "issuer_trusted": "foreign_issuer_trusted",
        "verification_method": "assertion_method", "proof": "signature_valid", "validity_period": "within_period",
        "status": "not_revoked"}

    tampered = copy.deepcopy(city.good)
    tampered["credentialSubject"]["holderName"] = "另一家公司"
    result = _verify(w, city, tampered)
    assert result["verdict"] == "INVALID" and _check(result, "proof") == ("INVALID", "signature_invalid")

    result = _verify(w, city, city.revoked)
    assert result["verdict"] == "INVALID" and _check(result, "status") == ("INVALID", "revoked")

    unknown = copy.deepcopy(city.good)
    unknown["@context"].append("https://evil.example/context/v1")
    result = _verify(w, city, unknown)
    assert result["verdict"] == "INVALID" and _check(result, "contexts") == ("INVALID", "context_unknown")

    _add(w, city)  # re-added without a status URL prefix: revocation cannot be checked, and says so
    result = _verify(w, city, city.revoked)
    assert result["verdict"] == "VALID" and _check(result, "status") == ("SKIPPED", "status_not_checked")

    r = w.call("DELETE", "/admin/trust/issuers", "admin", params={"did": city.did})
    assert r.status_code == 200 and r.json()["did"] == city.did
    assert _verify(w, city, city.good)["verdict"] == "INVALID"


def test_an_issuer_clock_a_little_ahead_is_tolerated(vc_world: VcWorld, second_city: SecondCity) -> None:
    """validFrom up to a minute ahead of our clock is VALID (the issuer's clock runs ahead, or it made the document
    for this very request), further ahead not yet valid."""
    city, now = second_city, dt.datetime.now(dt.UTC).replace(microsecond=0)
    unsigned = []
    for ahead in (dt.timedelta(seconds=30), dt.timedelta(minutes=5)):
        credential = _credential(city.did, "https://zwfw.wuhan.example" + OUR_CONTEXT_PATH,
                                 city.status_prefix + "revocation", GOOD_INDEX)
        unsigned.append({**credential, "validFrom": (now + ahead).isoformat()})
    _, signed = sign_as_other_city(city.did, unsigned, {"https://zwfw.wuhan.example" + OUR_CONTEXT_PATH:
                                                        context_document(OUR_CONTEXT_FILE)})
    # the key is fresh, so the trust entry is not this one's: only the validity check is compared here
    assert _check(_verify(vc_world, city, signed[0]), "validity_period") == ("VALID", "within_period")
    assert _check(_verify(vc_world, city, signed[1]), "validity_period") == ("INVALID", "not_yet_valid")


def test_a_claim_no_context_defines_is_refused_not_dropped(vc_world: VcWorld, second_city: SecondCity) -> None:
    """JSON-LD safe mode: a property added under a term no context defines, in the credential or in its status
    list, makes the proof jsonld_invalid (it was dropped while canonicalising, and the signature still held)."""
    w, city = vc_world, second_city
    _add(w, city, status_url_prefix=city.status_prefix)
    path = "/status-lists/revocation"
    status_list = city.served[path]
    try:
        subject = copy.deepcopy(city.good)
        subject["credentialSubject"]["foo"] = "an unsigned claim"
        for added in ({**city.good, "foo": "an unsigned claim"}, subject):
            result = _verify(w, city, added)
            assert result["verdict"] == "INVALID" and _check(result, "proof") == ("INVALID", "jsonld_invalid"), result
        city.served[path] = {**status_list, "foo": "an unsigned claim"}
        result = _verify(w, city, city.good)
        assert result["verdict"] == "INVALID" and _check(result, "status") == ("INVALID", "status_list_invalid")
    finally:
        city.served[path] = status_list
        w.call("DELETE", "/admin/trust/issuers", "admin", params={"did": city.did})


def test_trust_list_carries_the_foreign_issuer_under_the_city_seal(vc_world: VcWorld, second_city: SecondCity) -> None:
    w, city = vc_world, second_city
    _add(w, city, status_url_prefix=city.status_prefix)
    try:
        listed = w.call("GET", "/admin/trust/issuers", "admin").json()
        assert [i["status_url_prefix"] for i in listed if i["did"] == city.did] == [city.status_prefix]
        export_trust_list(w.env.lib)
        served = w.client.get("/public/trust").json()
        trust = load_trust_list(served)  # the seal covers the issuers
        entry = trust.issuer(city.did)
        assert entry is not None and dict(entry.did_document) == city.did_document
        forged = copy.deepcopy(served)
        next(i for i in forged["issuers"] if i["did"] == city.did)["status_url_prefix"] = "https://evil.example/"
        with pytest.raises(BadInput, match="seal"):
            load_trust_list(forged)
    finally:
        w.call("DELETE", "/admin/trust/issuers", "admin", params={"did": city.did})
        export_trust_list(w.env.lib)


def test_our_own_vc_verifies_through_the_same_route(vc_world: VcWorld, second_city: SecondCity) -> None:
    w = vc_world
    vc = w.call("GET", f"/holders/me/certificates/{w.identifier}/vc", token=w.token).json()
    result = _verify(w, second_city, vc)
    assert result["verdict"] == "VALID", result
    assert _check(result, "issuer_trusted") == ("VALID", "own_issuer")
    assert _check(result, "status") == ("VALID", "not_revoked")
    vc["credentialSubject"]["holderId"] = "91430100MA00000000"
    assert _check(_verify(w, second_city, vc), "proof") == ("INVALID", "signature_invalid")


def test_a_bad_trust_entry_or_credential_is_refused(vc_world: VcWorld, second_city: SecondCity) -> None:
    document = {**second_city.did_document, "assertionMethod": []}
    r = vc_world.call("POST", "/admin/trust/issuers", "admin",
                      json={"did": second_city.did, "name": "武汉", "did_document": document})
    assert r.status_code == 422 and r.json()["error"]["code"] == "did_document_invalid"


def test_the_command_line_adds_and_removes_an_issuer(vc_world: VcWorld, second_city: SecondCity,
                                                    tmp_path: Path) -> None:
    w, city = vc_world, second_city
    document = tmp_path / "wuhan.did.json"
    document.write_text(json.dumps(city.did_document), encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(app, ["trust", "add-issuer", city.did, "--name", "武汉市市场监督管理局", "--did-document",
                              str(document), "--status-url-prefix", city.status_prefix], env=w.env.env)
    assert out.exit_code == 0, out.output
    assert _verify(w, city, city.revoked)["verdict"] == "INVALID"  # status checked: revoked
    assert _verify(w, city, city.good)["verdict"] == "VALID"
    assert runner.invoke(app, ["trust", "remove-issuer", city.did], env=w.env.env).exit_code == 0
    out = runner.invoke(app, ["trust", "remove-issuer", city.did], env=w.env.env)
    assert out.exit_code == 2 and "issuer_not_trusted" in out.output
    r = vc_world.call("POST", "/admin/trust/issuers", "admin", json={
        "did": second_city.did, "name": "武汉", "did_document": second_city.did_document, "status_url_prefix": "ftp://x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "status_url_prefix_invalid"
    r = vc_world.client.post("/counters/verify/vc", json={"type": "VerifiableCredential"},
                             headers={"X-API-Key": second_city.counter_key})
    assert r.status_code == 422 and r.json()["error"]["code"] == "vc_malformed"
