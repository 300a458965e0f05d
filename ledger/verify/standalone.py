"""Verification with nothing but a chain node and the platform's trust list: no API, no database
(``certledger verify FILE --rpc URL --trust FILE``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ledger.chain.client import ChainClient
from ledger.chain.contract import LedgerContract
from ledger.verify.bundle import load_bundle
from ledger.verify.fragments import VerificationResult, Verifier
from ledger.verify.trust import TrustList, no_trust_list

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
    """Verify a bundle with nothing but a chain node's JSON-RPC URL and the trust list (``load_trust_list``).

    The bundle's chain and contract must be on the trust list (else anchor_on_chain is INVALID:
    ``untrusted_chain``, ``untrusted_contract``) and its seal certificate must chain to a root of the list; the
    bundle's own ``trust`` member is never trusted. Without a trust list nothing is verified (BadInput
    ``trust_list_missing``). ``document`` (the PDF) is checked against the record's digest when given.
    """
    if trust is None:
        raise no_trust_list()
    checked = load_bundle(bundle)
    return verifier_for_rpc(rpc_url, checked["chain"]["contract"], trust).verify_bundle(checked, document)
