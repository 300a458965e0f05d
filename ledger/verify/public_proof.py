"""The public proof of a certificate: what anyone may fetch by its identifier (``GET /public/proofs/{id}``) to
check, in a browser, that it is anchored and what its status is, with no personal data in clear.

It is a proof bundle (``ledger.verify.bundle``) without the record: the record (holder, holder ID, the type's
fields, the salt) is replaced by its public summary, so the leaf cannot be recomputed from it (that needs the
holder's bundle); the leaf, the Merkle proof, the root, where it was anchored and the seal certificate are all
there, and the chain answers the rest (anchor, anchoring department, seal on chain, status):
``ledger.verify.public_proof_checks`` verifies it, as verifier-js does in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ledger.verify.bundle import PUBLIC_PROOF_FORMAT
from ledger.verify.stored import load_certificate, stored_bundle

if TYPE_CHECKING:
    from ledger.app.library import Library

# The record's keys a public proof carries: nothing about the holder.
PUBLIC_RECORD_KEYS = ("identifier", "name", "number", "version", "type_code", "defining_department",
                      "defining_department_code", "issuing_department", "issuing_department_code", "issue_date",
                      "valid_from", "valid_until", "jurisdiction_code")


def public_proof(lib: Library, identifier: str) -> dict[str, Any]:
    """The public proof of an anchored certificate; Conflict ``certificate_not_anchored`` while it is pending,
    NotFound ``certificate_not_found``, BadInput for a malformed identifier."""
    return public_proof_of(stored_bundle(lib, *load_certificate(lib, identifier)))


def public_proof_of(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """A certificate bundle's public proof: its record and document replaced by the record's public summary."""
    out = {k: v for k, v in bundle.items() if k not in ("record", "document")}
    return {**out, "format": PUBLIC_PROOF_FORMAT,
            "summary": {k: bundle["record"].get(k) for k in PUBLIC_RECORD_KEYS}, "record_included": False}
