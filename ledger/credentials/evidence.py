"""The chain anchor of a credential as VC ``evidence``: what a verifier needs to find its leaf on chain.

The record (whose canonical SHA-256, hashed twice with keccak-256, is the leaf), the Merkle proof to the
root, and the transaction that anchored the root (``docs/proof-bundle.md`` explains each check).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + value.hex()


def anchor_evidence(record: Mapping[str, Any], leaf: bytes | str, root: bytes | str, proof: Sequence[bytes | str],
                    chain: Mapping[str, Any], seal_der_b64: str | None = None) -> dict[str, Any]:
    """A ``ChainAnchor`` evidence object (our context) from a record, its leaf, proof and chain facts."""
    anchored_at = chain["anchored_at"]
    if isinstance(anchored_at, dt.datetime):
        anchored_at = anchored_at.isoformat()
    evidence = {
        "type": ["ChainAnchor"], "record": dict(record), "leaf": _hex(leaf), "merkleRoot": _hex(root),
        "merkleProof": [_hex(p) for p in proof], "chainId": chain["chain_id"], "contract": chain["contract"],
        "transactionHash": chain["tx_hash"], "blockNumber": chain["block_number"], "anchoredAt": anchored_at,
    }
    if seal_der_b64 is not None:
        evidence["recordSeal"] = seal_der_b64
    return evidence
