"""Verification with nothing but a chain node: no API, no database (``certledger verify FILE --rpc URL``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ledger.chain.client import ChainClient
from ledger.chain.contract import (
    LedgerContract,
)
from ledger.verify.bundle import load_bundle, trusted_root_der
from ledger.verify.fragments import VerificationResult, Verifier

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_rpc_verifiers: dict[tuple[str, str, bytes | None], Verifier] = {}


def verifier_for_rpc(rpc_url: str, contract_address: str, trust_root_der: bytes | None = None) -> Verifier:
    """A verifier that needs only a chain node (no database, no API), reused per endpoint and contract."""
    key = (rpc_url, contract_address.lower(), trust_root_der)
    verifier = _rpc_verifiers.get(key)
    if verifier is None:
        verifier = Verifier(LedgerContract(ChainClient(rpc_url), contract_address), None, trust_root_der)
        _rpc_verifiers[key] = verifier
    return verifier


def verify_bundle_standalone(bundle: Mapping[str, Any] | str | bytes, rpc_url: str,
                             root_pem: str | bytes | None = None, document: bytes | None = None) -> VerificationResult:
    """Verify a bundle with nothing but a chain node's JSON-RPC URL (no API, no database).

    ``root_pem`` is the city seal root the caller trusts; without it the bundle's own root is used and
    trust in the seal certificate rests on its fingerprint being registered on chain (fragment anchor_issuer).
    ``document`` (the PDF) is checked against the record's digest when given.
    """
    # Imported here: ledger.verify.service reads bundles from this module.
    from ledger.verify.standalone import verifier_for_rpc

    checked = load_bundle(bundle)
    trusted = trusted_root_der(root_pem) if root_pem is not None else None
    return verifier_for_rpc(rpc_url, checked["chain"]["contract"], trusted).verify_bundle(checked, document)
