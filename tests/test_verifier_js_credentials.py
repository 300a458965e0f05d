"""verifier-js and the Python verifiers agree on our W3C VC 2.0 and SD-JWT VC exports (issue 14 item 4).

Each credential is exported by the API of the session's library (fixture ``vc_world``: a real chain), tampered
(a changed field, a changed proof, re-signed with another key, a property no context defines added at the top
or in ``credentialSubject``: JSON-LD safe mode in both) or its certificate revoked on chain, and verified
by ``ledger.credentials.vc_verify`` / ``sd_jwt_verify`` and by ``node verifier-js/bin/certledger-verify.js
--json`` with the platform's sealed trust list, its JSON-RPC endpoint and the documents a verifier resolves (the
DID document and the status lists, fetched from the API now and passed with ``--documents``). The verdicts must
be equal and so must every check both name; verifier-js's own ``anchor`` check (the evidence on chain) must pass.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.credentials.data_integrity import sign_document
from ledger.credentials.jws import sign_es256
from ledger.credentials.sd_jwt import verify_here
from ledger.credentials.vc_verify import verify_credential
from ledger.issue.anchoring import Anchorer
from signer.keys import SoftwareKey
from tests.fixtures.credentials import VcWorld

VERIFIER_JS = Path(__file__).resolve().parents[1] / "verifier-js"
CLI = VERIFIER_JS / "bin" / "certledger-verify.js"
# sd_jwt_verify's checks -> verifier-js's
SD_JWT_NAMES = {"signature": "signature", "disclosures": "disclosures", "validity": "validity_period",
                "status": "status", "anchor": "anchor"}

pytestmark = pytest.mark.skipif(not (VERIFIER_JS / "node_modules").is_dir() or shutil.which("node") is None,
                                reason="verifier-js needs node and its npm dependencies (./dev setup)")


def _javascript(w: VcWorld, items: list[tuple[str, dict[str, Any]]], tmp_path: Path) -> list[dict[str, Any]]:
    """certledger-verify --json on each item (its text and the documents it resolves); the JSON result of each."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    trust = tmp_path / "trust.json"
    trust.write_text(Path(w.env.env["CERTLEDGER_TRUST_FILE"]).read_text("utf-8"), encoding="utf-8")
    results = []
    for i, (text, documents) in enumerate(items):  # each item has its own documents: one process each
        (tmp_path / f"case-{i}.txt").write_text(text, encoding="utf-8")
        (tmp_path / f"docs-{i}.json").write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
        args = ["node", str(CLI), "--rpc", w.env.env["CERTLEDGER_RPC_URL"], "--trust", str(trust), "--platform",
                w.env.lib.settings.public_url, "--documents", str(tmp_path / f"docs-{i}.json"), "--json",
                str(tmp_path / f"case-{i}.txt")]
        done = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        results.append(json.loads(done.stdout))
    return results


def _vc(w: VcWorld, identifier: str) -> dict[str, Any]:
    r = w.call("GET", f"/holders/me/certificates/{identifier}/vc", token=w.token)
    assert r.status_code == 200, r.text
    return r.json()


def _sd_jwt(w: VcWorld, identifier: str) -> str:
    r = w.call("POST", f"/holders/certificates/{identifier}/sd-jwt", token=w.token,
               json={"disclose": ["name", "number", "holder", "valid_from"]})
    assert r.status_code == 200, r.text
    return r.json()["sd_jwt"]


def _revoked(w: VcWorld) -> str:
    """A certificate anchored, then revoked (the chain first, then the platform's lists)."""
    identifier = w.issue()
    Anchorer(w.env.lib).run_once(force=True)
    r = w.call("POST", f"/departments/certificates/{identifier}/status", "market",
               json={"action": "revoke", "reason": "核验器一致性测试"})
    assert r.status_code == 200, r.text
    return identifier


def _b64json(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _sd_documents(w: VcWorld, presentation: str) -> dict[str, Any]:
    payload = _b64json(presentation.split(".")[1])
    uri = payload["status"]["status_list"]["uri"]
    r = w.client.get(uri.removeprefix(w.env.lib.settings.public_url))
    assert r.status_code == 200, r.text
    return {payload["iss"]: w.get_json(f"/dids/{payload['iss'].rsplit(':', 1)[1]}/did.json"), uri: r.text}


def _vc_cases(w: VcWorld) -> dict[str, dict[str, Any]]:
    genuine = _vc(w, w.identifier)
    changed = copy.deepcopy(genuine)
    changed["credentialSubject"]["holderId"] = "91430100MA00000000"
    evidence = copy.deepcopy(genuine)
    evidence["evidence"][0]["merkleRoot"] = "0x" + "00" * 32
    proof = copy.deepcopy(genuine)
    value = proof["proof"]["proofValue"]
    proof["proof"]["proofValue"] = value[:-4] + ("2222" if value[-4:] != "2222" else "3333")
    other_key = sign_document({k: v for k, v in genuine.items() if k != "proof"}, SoftwareKey.generate("p256"),
                              genuine["proof"]["verificationMethod"])
    top = {**copy.deepcopy(genuine), "foo": "an unsigned claim"}  # no context defines foo: refused, not dropped
    subject = copy.deepcopy(genuine)
    subject["credentialSubject"]["foo"] = "an unsigned claim"
    return {"genuine": genuine, "changed field": changed, "changed evidence": evidence, "changed proof": proof,
            "another key": other_key, "revoked on chain": _vc(w, _revoked(w)), "undefined term at the top": top,
            "undefined term in credentialSubject": subject}


def _shape(result: dict[str, Any]) -> tuple[str, dict[str, tuple[str, str]]]:
    return result["verdict"], {c["name"]: (c["status"], c["reason"]) for c in result["checks"]}


def test_vc_verdicts_and_checks_agree(vc_world: VcWorld, tmp_path: Path) -> None:
    w = vc_world
    cases = _vc_cases(w)
    js = _javascript(w, [(json.dumps(vc, ensure_ascii=False), w.resolved(vc)) for vc in cases.values()], tmp_path)
    shared = {}
    for (name, vc), js_result in zip(cases.items(), js, strict=True):
        assert js_result["format"] == "vc"
        py_verdict, py_checks = _shape(verify_credential(w.env.lib, vc).to_dict())
        js_verdict, js_checks = _shape(js_result)
        assert js_verdict == py_verdict, (name, js_result)
        assert {k: js_checks[k] for k in py_checks} == py_checks, name
        shared[name] = (py_verdict, py_checks, js_checks.get("anchor"))
    assert shared["genuine"][0] == "VALID" and shared["genuine"][2] == ("VALID", "anchored")
    for name in ("changed field", "changed evidence", "changed proof", "another key"):
        assert shared[name][0] == "INVALID" and shared[name][1]["proof"] == ("INVALID", "signature_invalid"), name
    for name in ("undefined term at the top", "undefined term in credentialSubject"):
        assert shared[name][0] == "INVALID" and shared[name][1]["proof"] == ("INVALID", "jsonld_invalid"), name
    verdict, checks, anchor = shared["revoked on chain"]
    assert verdict == "INVALID" and checks["status"] == ("INVALID", "revoked") and anchor == ("VALID", "anchored")


def _sd_cases(w: VcWorld) -> dict[str, str]:
    genuine = _sd_jwt(w, w.identifier)
    jwt, *disclosures = genuine.split("~")
    head, body, sig = jwt.split(".")
    payload = _b64json(body)
    forged_body = base64.urlsafe_b64encode(json.dumps({**payload, "vct": "urn:other"}).encode()).rstrip(b"=").decode()
    salt, claim, _value = _b64json(disclosures[0])
    forged = base64.urlsafe_b64encode(json.dumps([salt, claim, "伪造"]).encode()).rstrip(b"=").decode()
    header = {k: v for k, v in _b64json(head).items() if k != "alg"}
    resigned = sign_es256(header, payload, SoftwareKey.generate("p256"))
    return {"genuine": genuine, "changed payload": "~".join([f"{head}.{forged_body}.{sig}", *disclosures]),
            "changed disclosure": "~".join([jwt, forged, *disclosures[1:]]),
            "another key": "~".join([resigned, *disclosures]), "revoked on chain": _sd_jwt(w, _revoked(w))}


def test_sd_jwt_verdicts_and_checks_agree(vc_world: VcWorld, tmp_path: Path) -> None:
    w = vc_world
    cases = _sd_cases(w)
    js = _javascript(w, [(text, _sd_documents(w, text)) for text in cases.values()], tmp_path)
    outcome = {}
    for (name, text), js_result in zip(cases.items(), js, strict=True):
        assert js_result["format"] == "sd-jwt"
        py = verify_here(w.env.lib, text)
        _verdict, js_checks = _shape(js_result)
        assert (js_result["verdict"] == "VALID") is py["valid"], (name, js_result, py)
        # sd_jwt_verify stops at a bad signature (the later checks stay False, never run): verifier-js SKIPs them
        compared = SD_JWT_NAMES if py["checks"]["signature"] else {"signature": "signature"}
        for py_name, js_name in compared.items():
            assert (js_checks[js_name][0] == "VALID") is bool(py["checks"][py_name]), (name, js_name, js_result, py)
        outcome[name] = js_checks
    assert outcome["genuine"]["disclosures"] == ("VALID", "disclosures_signed")
    assert outcome["changed payload"]["signature"] == ("INVALID", "signature_invalid")
    assert outcome["another key"]["signature"] == ("INVALID", "signature_invalid")
    assert outcome["changed disclosure"]["disclosures"] == ("INVALID", "disclosure_not_signed")
    assert outcome["revoked on chain"]["status"] == ("INVALID", "revoked")
    assert outcome["revoked on chain"]["anchor"] == ("VALID", "anchored")
