"""W3C VC 2.0 export: the holder's (and the issuing department's) credential verifies with the Digital Bazaar
libraries, unchanged and offline (ecdsa-rdfc-2019, did:web resolved from the platform, Bitstring status
lists), and fails once tampered; nobody else gets it; the public documents are served."""

from __future__ import annotations

import copy
import json
import subprocess

import httpx
import pytest

from ledger.app.onboarding import create_api_key
from ledger.core.errors import Conflict
from ledger.credentials.contexts import OUR_CONTEXT_FILE, OUR_CONTEXT_PATH, context_document
from ledger.credentials.data_integrity import sign_document
from ledger.devstack.api_process import start_api
from ledger.devstack.launchers import free_port, stop
from ledger.issue import reports
from ledger.issue.anchoring import Anchorer
from signer.keys import SoftwareKey
from tests.fixtures.credentials import INTEROP, VcWorld, digital_bazaar_verify
from tests.test_reports import new_association, summary


def test_holder_vc_verifies_with_digital_bazaar_and_tampering_fails(vc_world: VcWorld) -> None:
    w = vc_world
    r = w.call("GET", f"/holders/me/certificates/{w.identifier}/vc", token=w.token)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vc+ld+json")
    assert r.headers["cache-control"] == "no-store"
    vc = r.json()
    subject = vc["credentialSubject"]
    assert subject["identifier"] == w.identifier and subject["holderId"] == w.holder_id
    assert vc["issuer"]["id"].startswith("did:web:") and vc["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
    assert [s["statusPurpose"] for s in vc["credentialStatus"]] == ["revocation", "suspension"]
    evidence = vc["evidence"][0]
    assert evidence["record"]["identifier"] == w.identifier and evidence["transactionHash"].startswith("0x")

    documents = w.resolved(vc)
    assert digital_bazaar_verify(vc, documents) == {"verified": True, "errors": []}

    for path, value in ((("credentialSubject", "holderId"), "91430100MA00000000"),
                        (("evidence", 0, "merkleRoot"), "0x" + "00" * 32),
                        (("validFrom",), "2000-01-01T00:00:00+08:00")):
        tampered = copy.deepcopy(vc)
        target = tampered
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        result = digital_bazaar_verify(tampered, documents)
        assert result["verified"] is False and "Invalid signature." in result["errors"], (path, result)


def test_only_the_holder_and_the_issuing_department_get_the_vc(vc_world: VcWorld) -> None:
    w = vc_world
    path = f"/holders/me/certificates/{w.identifier}/vc"
    assert w.call("GET", path).status_code == 401
    r = w.call("GET", path, token=w.stranger_token)
    assert r.status_code == 404 and r.json()["error"]["code"] == "certificate_not_found"
    dept = f"/departments/certificates/{w.identifier}/vc"
    r = w.call("GET", dept, "land")
    assert r.status_code == 404 and r.json()["error"]["code"] == "certificate_not_found"
    r = w.call("GET", dept, "market")
    assert r.status_code == 200 and r.json()["credentialSubject"]["holderId"] == w.holder_id


def test_pending_certificate_is_not_exported(vc_world: VcWorld) -> None:
    pending = vc_world.issue()
    r = vc_world.call("GET", f"/holders/me/certificates/{pending}/vc", token=vc_world.token)
    assert r.status_code == 409 and r.json()["error"]["code"] == "certificate_not_anchored"


def test_public_documents(vc_world: VcWorld) -> None:
    w = vc_world
    r = w.client.get(OUR_CONTEXT_PATH)
    assert r.status_code == 200 and r.json() == context_document(OUR_CONTEXT_FILE)
    code = w.env.departments["market"].uscc
    did = w.client.get(f"/dids/{code}/did.json").json()
    assert did["id"].endswith(f":dids:{code}") and did["assertionMethod"]
    assert all(m["type"] == "Multikey" and m["publicKeyMultibase"].startswith("zDn") for m in did["verificationMethod"])
    r = w.client.get("/dids/91430100MA00000000/did.json")
    assert r.status_code == 404 and r.json()["error"]["code"] == "issuer_not_found"
    r = w.client.get(f"/status-lists/{code}/other")
    assert r.status_code == 404 and r.json()["error"]["code"] == "status_list_not_found"


def test_report_summary_vc_verifies_and_tampering_fails(vc_world: VcWorld) -> None:
    w = vc_world
    lib = w.env.lib
    association = new_association(lib)
    [report] = reports.submit_batch(lib, association, [summary()])
    Anchorer(lib).run_once(force=True)
    key = create_api_key(lib, association.id, ["association"])
    r = w.client.get(f"/associations/reports/{report.identifier}/vc", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    vc = r.json()
    assert vc["type"] == ["VerifiableCredential", "ReportSummaryCredential"]
    assert vc["credentialSubject"]["identifier"] == report.identifier
    documents = w.resolved(vc)
    assert digital_bazaar_verify(vc, documents) == {"verified": True, "errors": []}
    vc["credentialSubject"]["conclusion"] = "不符合设计要求。"
    assert digital_bazaar_verify(vc, documents)["verified"] is False
    r = w.client.get(f"/status-lists/{association.uscc}/revocation")  # its account may not anchor a list
    assert r.status_code == 404 and r.json()["error"]["code"] == "issuer_not_found"
    other = create_api_key(lib, new_association(lib).id, ["association"])
    r = w.client.get(f"/associations/reports/{report.identifier}/vc", headers={"X-API-Key": other})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_report"


def test_an_sm2_seal_is_refused_with_a_clear_code() -> None:
    with pytest.raises(Conflict) as e:
        sign_document({"@context": []}, SoftwareKey.generate("sm2"), "did:web:example:dids:x#seal-1")
    assert e.value.code == "vc_needs_p256_seal"


def test_verifier_resolves_from_a_running_platform(vc_world: VcWorld, tmp_path) -> None:
    """The README's way: a served VC, verified with `verify-vc.mjs --resolve URL` fetching the DID document,
    status lists and context over HTTP from the platform (uvicorn, its public URL its own address). Nothing in it
    depends on the database, so it runs on SQLite only (a server start costs seconds)."""
    if vc_world.env.lib.engine.dialect.name != "sqlite":
        pytest.skip("the same on every database")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_api(port, {**vc_world.env.env, "CERTLEDGER_PUBLIC_URL": base}, tmp_path / "uvicorn.log", workers=1)
    try:
        r = httpx.get(f"{base}/holders/me/certificates/{vc_world.identifier}/vc",
                      headers={"Authorization": f"Bearer {vc_world.token}"}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["issuer"]["id"].startswith(f"did:web:127.0.0.1%3A{port}:dids:")
        for vc, verified in ((r.text, True), (r.text.replace(vc_world.holder_id, "91430100MA00000000"), False)):
            out = subprocess.run(["node", str(INTEROP / "verify-vc.mjs"), "--resolve", base], input=vc,
                                 capture_output=True, text=True, timeout=60, check=False)
            assert out.returncode == 0 and json.loads(out.stdout)["verified"] is verified, out.stdout + out.stderr
    finally:
        stop(proc)
