"""Verification with nothing but a chain node and the platform's trust list: no API, no database
(``certledger verify FILE --rpc URL --trust FILE``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from ledger.chain.client import ChainClient
from ledger.core.errors import BadInput
from ledger.chain.contract import LedgerContract
from ledger.verify.bundle import load_bundle
from ledger.verify.fragments import VerificationResult, Verifier
from ledger.verify.public_proof_checks import verify_checked
from ledger.verify.trust import TrustList, no_trust_list

ANCHORED_FORMAT = "certledger/anchored-record/1"
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")

log = logging.getLogger(__name__)

_rpc_verifiers: dict[tuple[str, str, TrustList], Verifier] = {}


def verifier_for_rpc(rpc_url: str, contract_address: str, trust: TrustList) -> Verifier:
    """A verifier that needs only a chain node (no database, no API), reused per endpoint, contract and trust."""
    key = (rpc_url, contract_address.lower(), trust)
    verifier = _rpc_verifiers.get(key)
    if verifier is None:
        verifier = Verifier(LedgerContract(ChainClient(rpc_url), contract_address), None, trust)
        _rpc_verifiers[key] = verifier
    return verifier


def verify_bundle_standalone(bundle: Mapping[str, Any] | str | bytes, rpc_url: str, trust: TrustList | None,
                             document: bytes | None = None) -> VerificationResult:
    """Verify a bundle (or a public proof) with nothing but a chain node's JSON-RPC URL and the trust list
    (``load_trust_list``).

    The bundle's chain and contract must be on the trust list (else anchor_on_chain is INVALID:
    ``untrusted_chain``, ``untrusted_contract``) and its seal certificate must chain to a root of the list; the
    bundle's own ``trust`` member is never trusted. Without a trust list nothing is verified (BadInput
    ``trust_list_missing``). ``document`` (the PDF) is checked against the record's digest when given.
    """
    if trust is None:
        raise no_trust_list()
    checked = load_bundle(bundle)
    return verify_checked(verifier_for_rpc(rpc_url, checked["chain"]["contract"], trust), checked, document)


def _hash(value: Any, path: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise BadInput("anchored_record_malformed", f"{path} 应为 0x 加 64 位十六进制 / {path} must be 0x followed by "
                       "64 lower-case hex digits", path=path)
    return bytes.fromhex(value[2:])


def verify_anchored_record(doc: Mapping[str, Any], rpc_url: str, trust: TrustList | None) -> VerificationResult:
    """Verify an unsealed record anchored by the platform's audit writer (``certledger/anchored-record/1``: the
    monthly plan report, ``GET /admin/plan-targets/reports/{month}``) with a chain node and the trust list: the
    record hashes to the leaf, the proof leads to the root, and the trust list's audit writer anchored that root on
    a trusted contract."""
    if trust is None:
        raise no_trust_list()
    chain = doc.get("chain")
    if doc.get("format") != ANCHORED_FORMAT or not isinstance(doc.get("record"), dict) or not isinstance(chain, dict) \
            or not isinstance(chain.get("contract"), str) or not isinstance(doc.get("proof"), list):
        raise BadInput("anchored_record_malformed", f"这不是已上链的记录 / not an anchored {ANCHORED_FORMAT} document "
                       "with record, leaf, root, proof and chain (is it anchored yet?)")
    proof = [_hash(p, f"proof[{i}]") for i, p in enumerate(doc["proof"])]
    verifier = verifier_for_rpc(rpc_url, chain["contract"], trust)
    return verifier.verify_parts(doc, b"", _hash(doc.get("leaf"), "leaf"), _hash(doc.get("root"), "root"), proof)
