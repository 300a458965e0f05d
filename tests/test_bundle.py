"""Proof bundles: the format is checked field by field, verifies with only an RPC URL, and a third party
can verify one by following docs/proof-bundle.md with other tools (rfc8785, hashlib, pycryptodome's
keccak, raw JSON-RPC, openssl)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import rfc8785
from Crypto.Hash import keccak as pycryptodome_keccak

from ledger.core.checks import Status
from ledger.core.errors import BadInput, TooLarge
from ledger.verify.bundle import BUNDLE_FORMAT, MAX_BUNDLE_BYTES, load_bundle
from ledger.verify.standalone import verify_bundle_standalone
from ledger.verify.trust import load_trust_list
from tests.fixtures.anchored import AnchoredWorld

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


def _keccak(data: bytes) -> bytes:
    return pycryptodome_keccak.new(digest_bits=256, data=data).digest()


@pytest.fixture(scope="module")
def bundle(anchored: AnchoredWorld) -> dict[str, Any]:
    return anchored.batch("a", 3)[1]


def test_bundle_round_trips_through_json(bundle: dict[str, Any]) -> None:
    text = json.dumps(bundle, ensure_ascii=False)
    loaded = load_bundle(text)
    assert loaded == bundle
    assert load_bundle(text.encode()) == bundle
    assert loaded["format"] == BUNDLE_FORMAT
    assert set(loaded) == {"format", "identifier", "record", "seal", "leaf", "root", "proof", "chain", "trust",
                           "document", "exported_at"}
    assert loaded["seal"]["format"] == "cms"
    assert loaded["trust"]["city_root_pem"].startswith("-----BEGIN CERTIFICATE-----")


def _set(path: str, value: Any):
    def change(b: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            b = b[p]
        if value is _DELETE:
            del b[last]
        else:
            b[last] = value
    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (_set("format", "certledger/bundle/0"), "format"),
        (_set("surprise", 1), "top level"),
        (_set("record", _DELETE), "record"),
        (_set("record", "text"), "record"),
        (_set("identifier", "1.2.156.3005.2.X"), "record.identifier"),
        (_set("seal.der", "not base64!"), "seal.der"),
        (_set("seal.format", "ses"), "seal.format"),
        (_set("seal.format", "pkcs1"), "seal.format"),
        (_set("leaf", "0x1234"), "leaf"),
        (_set("root", "ab" * 32), "root"),
        (_set("proof", ["0x" + "zz" * 32]), "proof[0]"),
        (_set("proof", ["0x" + "00" * 32] * 65), "proof"),
        (_set("chain.chain_id", True), "chain.chain_id"),
        (_set("chain.chain_id", -5), "chain.chain_id"),
        (_set("chain.contract", "0x1234"), "chain.contract"),
        (_set("chain.tx_hash", "0x12"), "chain.tx_hash"),
        (_set("chain.anchored_at", "yesterday"), "chain.anchored_at"),
        (_set("trust.city_root_pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
         "trust.city_root_pem"),
        (_set("trust.seal_certificate_pem", "hello"), "trust.seal_certificate_pem"),
        (_set("document", {"cid": "x", "sha256": "XYZ"}), "document.sha256"),
        (_set("document", []), "document"),
        (_set("exported_at", _DELETE), "exported_at"),
    ],
)
def test_malformed_bundle_names_the_exact_problem(bundle: dict[str, Any], change, path: str) -> None:
    bad = copy.deepcopy(bundle)
    change(bad)
    with pytest.raises(BadInput) as e:
        load_bundle(bad)
    assert e.value.code == "bundle_malformed"
    assert e.value.details["path"] == path
    assert path in e.value.message


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", "null"])
def test_bundle_that_is_not_a_json_object_is_refused(text: str) -> None:
    with pytest.raises(BadInput) as e:
        load_bundle(text)
    assert e.value.code == "bundle_malformed"


def test_oversized_bundle_is_refused() -> None:
    with pytest.raises(TooLarge) as e:
        load_bundle(b" " * (MAX_BUNDLE_BYTES + 1))
    assert e.value.code == "bundle_too_large"


def test_standalone_verifier_needs_only_the_rpc_url_and_the_trust_list(anchored: AnchoredWorld,
                                                                       bundle: dict[str, Any]) -> None:
    trust = load_trust_list(json.dumps(anchored.trust_document()))
    result = verify_bundle_standalone(json.dumps(bundle), anchored.rpc_url, trust)
    assert result.verdict is Status.VALID, result.to_dict()
    assert result.check("seal").data["trust_root"] == "trust_list"
    with_document = verify_bundle_standalone(bundle, anchored.rpc_url, trust, document=b"%PDF-1.7 some document")
    assert with_document.check("document_digest").reason == "record_has_no_document"


def test_standalone_verifier_refuses_without_a_trust_list(anchored: AnchoredWorld, bundle) -> None:
    with pytest.raises(BadInput) as e:
        verify_bundle_standalone(bundle, anchored.rpc_url, None)
    assert e.value.code == "trust_list_missing" and "/public/trust" in e.value.message


# ---------------------------------------------------------------------- the documented recipe, by hand


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    assert "error" not in answer, answer
    return answer["result"]


def _word(n: int | bytes) -> bytes:
    return n.rjust(32, b"\0") if isinstance(n, bytes) else n.to_bytes(32, "big")


def _call(url: str, to: str, selector: str, args: bytes) -> list[bytes]:
    out = bytes.fromhex(_rpc(url, "eth_call", [{"to": to, "data": selector + args.hex()}, "latest"])[2:])
    return [out[i:i + 32] for i in range(0, len(out), 32)]


def _openssl_cms_ok(seal: bytes, content: bytes, root_pem: str, work: Path, *extra: str) -> bool:
    (work / "seal.der").write_bytes(seal)
    (work / "content.json").write_bytes(content)
    (work / "root.pem").write_text(root_pem)
    return subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(work / "seal.der"), "-content",
         str(work / "content.json"), "-binary", "-CAfile", str(work / "root.pem"), "-out", "/dev/null", *extra],
        capture_output=True).returncode == 0


def _hand_trust(trust_doc: dict[str, Any], root_sha256: str, work: Path) -> tuple[dict[str, bool], dict[str, Any]]:
    """Step 0: the trust list's seal, by the city root whose SHA-256 the verifier got out of band."""
    body = {k: v for k, v in trust_doc.items() if k != "seal"}
    root = next(r for r in body["seal_roots"] if r["algorithm"] == "p256")
    root_der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=root["certificate_pem"].encode(),
                              capture_output=True, check=True).stdout
    ok = {"trust_root": hashlib.sha256(root_der).hexdigest() == root_sha256,
          "trust_seal": _openssl_cms_ok(base64.b64decode(trust_doc["seal"]["der"]), rfc8785.dumps(body),
                                        root["certificate_pem"], work, "-purpose", "any")}  # signed by the root itself
    return ok, body


def _hand_verify(url: str, b: dict[str, Any], trust_doc: dict[str, Any], root_sha256: str,
                 work: Path) -> dict[str, bool]:
    """docs/proof-bundle.md, "Verifying by hand", step by step, without certledger code."""
    ok, trust = _hand_trust(trust_doc, root_sha256, work)
    record, contract = b["record"], b["chain"]["contract"]
    ok["trusted_contract"] = any(d["address"].lower() == contract.lower() for d in trust["deployments"])
    # 1. record -> leaf
    canonical = rfc8785.dumps(record)
    leaf = _keccak(_keccak(hashlib.sha256(canonical).digest()))
    ok["leaf"] = "0x" + leaf.hex() == b["leaf"]
    # 2. leaf -> root
    node = bytes.fromhex(b["leaf"][2:])
    proof = [bytes.fromhex(p[2:]) for p in b["proof"]]
    for sibling in proof:
        node = _keccak(min(node, sibling) + max(node, sibling))
    root = bytes.fromhex(b["root"][2:])
    ok["root"] = node == root
    # 3. chain id
    ok["chain"] = int(_rpc(url, "eth_chainId", []), 16) == b["chain"]["chain_id"] == trust["chain_id"]
    # 4. the department's accounts, and verify(issuer, root, leaf, proof) under each
    code_hash = _keccak(record["issuing_department_code"].upper().encode())
    words = _call(url, contract, "0xbf1c3f45", code_hash)  # accountsOf(bytes32): offset, length, addresses
    accounts = ["0x" + w[12:].hex() for w in words[2:2 + int.from_bytes(words[1], "big")]]
    answer, issuer = None, None
    for account in accounts:
        args = (_word(bytes.fromhex(account[2:])) + _word(root) + _word(bytes.fromhex(b["leaf"][2:])) + _word(128)
                + _word(len(proof)) + b"".join(proof))
        words = _call(url, contract, "0x652ff78b", args)
        if int.from_bytes(words[1], "big") != 0:  # kind: this account anchored the root
            answer, issuer = words, account
            break
    ok["anchored"] = answer is not None
    ok["included"] = answer is not None and int.from_bytes(answer[0], "big") == 1
    ok["block"] = answer is not None and int.from_bytes(answer[2], "big") == b["chain"]["block_number"]
    ok["status"] = answer is not None and int.from_bytes(answer[6], "big") == 1
    ok["not_compromised"] = answer is not None and int.from_bytes(answer[5], "big") == 0
    # 5. organization(issuer): a department registered for the record's credit code
    org = _call(url, contract, "0xb586f967", _word(bytes.fromhex((issuer or "0x" + "00" * 20)[2:])))
    ok["department"] = int.from_bytes(org[0], "big") == 1
    ok["uscc"] = org[2] == code_hash
    # 6. the seal certificate is the one the department had on chain when it anchored the root
    seal = base64.b64decode(b["seal"]["der"])
    (work / "record-seal.der").write_bytes(seal)
    certs = subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-in", str(work / "record-seal.der"),
                            "-print_certs"], capture_output=True, check=True).stdout
    cert_der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=certs, capture_output=True,
                              check=True).stdout
    ok["seal_current_at_anchor"] = answer is not None and hashlib.sha256(cert_der).digest() == answer[4]
    # 7. the seal itself against the trust list's root, and whose it is
    root_pem = next(r["certificate_pem"] for r in trust["seal_roots"] if r["algorithm"] == "p256")
    ok["seal"] = _openssl_cms_ok(seal, canonical, root_pem, work)
    subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"], input=certs,
                             capture_output=True, check=True).stdout.decode()
    ok["seal_department"] = record["issuing_department_code"] in subject
    # 8. dates
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    ok["dates"] = record["valid_from"] <= today and (record["valid_until"] is None or today <= record["valid_until"])
    return ok


def test_third_party_recipe_verifies_a_bundle(anchored: AnchoredWorld, bundle, tmp_path: Path) -> None:
    root_sha256 = hashlib.sha256(anchored.authority.registry.root_der).hexdigest()
    ok = _hand_verify(anchored.rpc_url, bundle, anchored.trust_document(), root_sha256, tmp_path)
    assert all(ok.values()), ok


def test_third_party_recipe_catches_a_changed_field_and_a_changed_trust_list(anchored: AnchoredWorld, bundle,
                                                                             tmp_path: Path) -> None:
    root_sha256 = hashlib.sha256(anchored.authority.registry.root_der).hexdigest()
    changed = copy.deepcopy(bundle)
    changed["record"]["holder"] = "王五"
    ok = _hand_verify(anchored.rpc_url, changed, anchored.trust_document(), root_sha256, tmp_path)
    assert not ok["leaf"] and not ok["seal"]
    assert ok["root"] and ok["included"] and ok["trust_seal"]
    forged_list = anchored.trust_document()
    forged_list["deployments"].append({"address": "0x" + "11" * 20, "from_block": 0, "tx_hash": None})
    assert not _hand_verify(anchored.rpc_url, bundle, forged_list, root_sha256, tmp_path)["trust_seal"]
