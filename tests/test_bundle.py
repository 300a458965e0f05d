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


def test_standalone_verifier_needs_only_the_rpc_url(anchored: AnchoredWorld, bundle: dict[str, Any]) -> None:
    result = verify_bundle_standalone(json.dumps(bundle), anchored.rpc_url)
    assert result.verdict is Status.VALID, result.to_dict()
    trusted = verify_bundle_standalone(bundle, anchored.rpc_url, root_pem=anchored.root_pem.encode())
    assert trusted.verdict is Status.VALID
    assert trusted.check("seal").data["trust_root"] == "trusted_root"
    with_document = verify_bundle_standalone(bundle, anchored.rpc_url, document=b"%PDF-1.7 some document")
    assert with_document.check("document_digest").reason == "record_has_no_document"


def test_standalone_verifier_refuses_a_malformed_trusted_root(anchored: AnchoredWorld, bundle) -> None:
    with pytest.raises(BadInput) as e:
        verify_bundle_standalone(bundle, anchored.rpc_url, root_pem="not a certificate")
    assert e.value.code == "root_pem_malformed"


# ---------------------------------------------------------------------- the documented recipe, by hand


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    assert "error" not in answer, answer
    return answer["result"]


def _word(n: int | bytes) -> bytes:
    return n.rjust(32, b"\0") if isinstance(n, bytes) else n.to_bytes(32, "big")


def _hand_verify(url: str, b: dict[str, Any], root_pem: Path, work: Path) -> dict[str, bool]:
    """docs/proof-bundle.md, "Verifying by hand", step by step, without certledger code."""
    record = b["record"]
    ok: dict[str, bool] = {}
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
    ok["chain"] = int(_rpc(url, "eth_chainId", []), 16) == b["chain"]["chain_id"]
    # 4. verify(root, leaf, proof)
    args = _word(root) + _word(bytes.fromhex(b["leaf"][2:])) + _word(96) + _word(len(proof)) + b"".join(proof)
    out = bytes.fromhex(_rpc(url, "eth_call", [{"to": b["chain"]["contract"], "data": "0x3423e548" + args.hex()},
                                               "latest"])[2:])
    words = [out[i:i + 32] for i in range(0, 160, 32)]
    issuer = "0x" + words[1][12:].hex()
    ok["included"] = int.from_bytes(words[0], "big") == 1
    ok["block"] = int.from_bytes(words[2], "big") == b["chain"]["block_number"]
    ok["status"] = int.from_bytes(words[4], "big") == 1
    # 5. organization(issuer)
    out = bytes.fromhex(_rpc(url, "eth_call", [{"to": b["chain"]["contract"],
                                               "data": "0xb586f967" + _word(bytes.fromhex(issuer[2:])).hex()},
                                               "latest"])[2:])
    org = [out[i:i + 32] for i in range(0, 160, 32)]
    ok["department"] = int.from_bytes(org[1], "big") == 1
    ok["uscc"] = org[3] == _keccak(record["issuing_department_code"].upper().encode())
    # 6. seal certificate fingerprint registered for the issuer
    seal = work / "seal.der"
    seal.write_bytes(base64.b64decode(b["seal"]["der"]))
    certs = subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-in", str(seal), "-print_certs"],
                           capture_output=True, check=True).stdout
    cert_der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=certs, capture_output=True,
                              check=True).stdout
    logs = _rpc(url, "eth_getLogs", [{
        "address": b["chain"]["contract"], "fromBlock": "0x0", "toBlock": "latest",
        "topics": [["0x1e1215d3358d51406aa95c014db3ef03d8fc88e3f78905b62c096368f4436e74",
                    "0x991a8af22d62801e178929297dc446f5238f0d8730384ef0af2c6daafc485d5b"],
                   "0x" + _word(bytes.fromhex(issuer[2:])).hex()]}])
    registered = {bytes.fromhex(lg["data"][2:])[-32:] for lg in logs}
    ok["seal_registered"] = hashlib.sha256(cert_der).digest() in registered
    # 7. the seal itself, and whose it is
    content = work / "record.json"
    content.write_bytes(canonical)
    ok["seal"] = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(seal), "-content", str(content), "-binary",
         "-CAfile", str(root_pem), "-out", "/dev/null"], capture_output=True).returncode == 0
    subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"], input=certs,
                             capture_output=True, check=True).stdout.decode()
    ok["seal_department"] = record["issuing_department_code"] in subject
    # 8. dates
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    ok["dates"] = record["valid_from"] <= today and (record["valid_until"] is None or today <= record["valid_until"])
    return ok


def test_third_party_recipe_verifies_a_bundle(anchored: AnchoredWorld, bundle, tmp_path: Path) -> None:
    root_pem = tmp_path / "city-root.pem"
    root_pem.write_text(anchored.root_pem)
    ok = _hand_verify(anchored.rpc_url, bundle, root_pem, tmp_path)
    assert all(ok.values()), ok


def test_third_party_recipe_catches_a_changed_field(anchored: AnchoredWorld, bundle, tmp_path: Path) -> None:
    root_pem = tmp_path / "city-root.pem"
    root_pem.write_text(anchored.root_pem)
    changed = copy.deepcopy(bundle)
    changed["record"]["holder"] = "王五"
    ok = _hand_verify(anchored.rpc_url, changed, root_pem, tmp_path)
    assert not ok["leaf"] and not ok["seal"]
    assert ok["root"] and ok["included"]
