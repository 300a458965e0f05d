"""JSON-LD safe mode (``ledger/credentials/rdfc.py``): what canonicalisation would drop is refused, as jsonld.js's
safe mode refuses it (verifier-js, the Digital Bazaar verifiers), so a claim added to a signed credential under
a term no context defines, or a relative type, no longer verifies. Offline: the credential and status list are
verifier-js's fixture (made with the platform's own code); the parity test runs jsonld.js on the same documents.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld
from pyld.jsonld import JsonLdError

from ledger.core.errors import BadInput
from ledger.credentials.contexts import document_loader
from ledger.credentials.data_integrity import p256_key_of, proof_verifies, sign_document
from ledger.credentials.rdfc import canonical_nquads
from signer.keys import SoftwareKey

VERIFIER_JS = Path(__file__).resolve().parents[1] / "verifier-js"
FIXTURE = json.loads((VERIFIER_JS / "test" / "fixtures" / "credentials.json").read_text("utf-8"))
VC, STATUS_LIST = FIXTURE["vc"], FIXTURE["status_lists"]["revocation"]


def _subject(**extra: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["credentialSubject"].update(extra)


# each changes the fixture's VC (or status list); True: safe mode refuses it
CHANGES: dict[str, tuple[Callable[[dict[str, Any]], None], bool]] = {
    "undefined term at the top": (lambda d: d.update(foo="an unsigned claim"), True),
    "undefined term in credentialSubject": (_subject(foo="bar"), True),
    "undefined term holding an object": (_subject(foo={"holderName": "x"}), True),
    "undefined term in the issuer": (lambda d: d["issuer"].update(foo="bar"), True),
    "undefined term in a status entry": (lambda d: d["credentialStatus"][0].update(foo="bar"), True),
    "undefined term in the proof options": (lambda d: d["proof"].update(foo="bar"), True),
    "a keyword-like key": (lambda d: d.update({"@foo": "bar"}), True),
    "a relative type": (lambda d: d["type"].append("Foo"), True),
    "a relative subject type": (_subject(type=["CertificateHolder", "Foo"]), True),
    "a relative subject id": (_subject(id="holder-1"), True),
    "a reserved subject id": (_subject(id="@foo"), True),
    "a null @value": (_subject(conclusion={"@value": None}), True),
    "a value with only @language": (_subject(conclusion={"@language": "zh"}), True),
    "a term mapped to null": (lambda d: (d["@context"].append({"bar": None}), d.update(bar="x")), True),
    "a blank-node predicate": (lambda d: (d["@context"].append({"bar": "_:bar"}), d.update(bar="x")), True),
    "a node with only @id, included": (lambda d: d.update({"@included": [{"@id": "urn:x:1"}]}), True),
    "a null property": (_subject(conclusion=None), False),
    "an empty object": (_subject(subject={}), False),
    "inside a JSON literal": (lambda d: d["credentialSubject"]["fields"].update({"foo": 1, "@id": "x"}), False),
    "a language-tagged name": (lambda d: d.update(name={"@value": "营业执照", "@language": "zh"}), False),
    "a list with a null": (_subject(merkleProof=["0x01", None]), False),
}


def _changed(name: str, document: dict[str, Any] = VC) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    CHANGES[name][0](changed)
    return changed


def _parts(document: dict[str, Any]) -> list[dict[str, Any]]:
    """What is canonicalised for a proof: the document without it, and the proof options."""
    options = {k: v for k, v in document["proof"].items() if k != "proofValue"}
    return [{k: v for k, v in document.items() if k != "proof"}, {"@context": document["@context"], **options}]


def _refused(document: dict[str, Any]) -> bool:
    try:
        for part in _parts(document):
            canonical_nquads(part)
    except BadInput as e:
        assert e.code == "jsonld_invalid", e.code
        return True
    return False


def _fixture_key() -> Any:
    return p256_key_of(FIXTURE["did_document"]["verificationMethod"][0]["publicKeyMultibase"])


def test_safe_mode_changes_nothing_in_a_genuine_document() -> None:
    for document in (VC, STATUS_LIST):
        for part in _parts(document):
            plain = jsonld.normalize(part, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                            "documentLoader": document_loader})
            assert canonical_nquads(part) == plain
        assert proof_verifies(document, _fixture_key())


@pytest.mark.parametrize("name", CHANGES)
def test_what_canonicalisation_would_drop_is_refused(name: str) -> None:
    assert _refused(_changed(name)) is CHANGES[name][1]


def test_refused_rather_than_verified() -> None:
    """Before safe mode the added claims were dropped and the proof still verified; now proof_verifies raises."""
    key = _fixture_key()
    for name in ("undefined term at the top", "undefined term in credentialSubject"):
        with pytest.raises(BadInput) as e:
            proof_verifies(_changed(name), key)
        assert e.value.code == "jsonld_invalid"
    with pytest.raises(BadInput) as e:
        proof_verifies(_changed("undefined term in credentialSubject", STATUS_LIST), key)
    assert e.value.code == "jsonld_invalid"


def test_syntax_errors_stay_pylds() -> None:
    """What JSON-LD itself forbids is a JsonLdError (vc_verify reports both as ``jsonld_invalid``)."""
    for change in (_subject(holderName={"@value": "x", "@type": "Foo"}), _subject(id=None)):
        document = copy.deepcopy(VC)
        change(document)
        with pytest.raises(JsonLdError):
            canonical_nquads(_parts(document)[0])


def test_nothing_is_signed_that_canonicalisation_would_drop() -> None:
    unsigned = _parts(_changed("undefined term at the top"))[0]
    with pytest.raises(BadInput) as e:
        sign_document(unsigned, SoftwareKey.generate("p256"), VC["proof"]["verificationMethod"])
    assert e.value.code == "jsonld_invalid"


@pytest.mark.skipif(not (VERIFIER_JS / "node_modules").is_dir() or shutil.which("node") is None,
                    reason="verifier-js needs node and its npm dependencies (./dev setup)")
def test_jsonld_js_safe_mode_refuses_the_same() -> None:
    documents = {name: _changed(name) for name in CHANGES} | {"genuine": VC, "status list": STATUS_LIST}
    script = """
import { readFileSync } from 'node:fs';
import { canonicalNQuads } from './src/data_integrity.js';
const documents = JSON.parse(readFileSync(0, 'utf8'));
const refused = {};
for (const [name, d] of Object.entries(documents)) {
  const { proof, ...unsigned } = d;
  const { proofValue, ...options } = proof;
  try {
    await canonicalNQuads(unsigned);
    await canonicalNQuads({ '@context': d['@context'], ...options });
    refused[name] = false;
  } catch (e) {
    refused[name] = true;
  }
}
console.log(JSON.stringify(refused));
"""
    done = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(documents), cwd=VERIFIER_JS,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    javascript = json.loads(done.stdout)
    python = {name: _refused(document) for name, document in documents.items()}
    assert javascript == python
    assert python["genuine"] is False and python["undefined term at the top"] is True
