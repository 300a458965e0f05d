"""Verifying a public proof (``certledger/public-proof/1``, ``ledger.verify.public_proof``): every fragment that
needs no record, as for a bundle (``ledger.verify.fragments``), with the same names and reason codes; verifier-js
does the same in the browser (docs/proof-bundle.md).

The proof's ``summary`` stands in for the record where a fragment reads the issuing department's code or the
validity dates; ``record_integrity``, ``seal_intact`` (the seal's signature is over the record) and
``document_digest`` are SKIPPED ``no_record`` and not required, so the verdict is VALID when every chain check is.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any

from ledger.core.checks import Check, Status, verdict
from ledger.core.errors import BadInput
from ledger.core.record import CERTIFICATE_KIND
from ledger.verify.bundle import PUBLIC_PROOF_FORMAT
from ledger.verify.chain_facts import Anchor
from ledger.verify.fragments import REQUIRED, VerificationResult, Verifier
from signer.seal_reader import SealRejected, read_seal
from signer.verify import SealVerifier

NO_RECORD = ("the public proof carries no record (no holder, fields or salt), so this needs the holder's own "
             "bundle; the chain checks do not depend on it")


def verify_checked(verifier: Verifier, checked: Mapping[str, Any], document: bytes | None = None) -> VerificationResult:
    """A loaded bundle (``load_bundle``) verified by its format: a public proof without its record, else in full."""
    if checked["format"] == PUBLIC_PROOF_FORMAT:
        return verify_public_proof(verifier, checked)
    return verifier.verify_bundle(checked, document)


def verify_public_proof(verifier: Verifier, proof: Mapping[str, Any]) -> VerificationResult:
    """Every fragment a public proof allows, in a bundle's order; the record-level ones SKIPPED ``no_record``."""
    summary = proof["summary"]
    seal = base64.b64decode(proof["seal"]["der"])
    leaf, root = bytes.fromhex(proof["leaf"][2:]), bytes.fromhex(proof["root"][2:])
    path = [bytes.fromhex(p[2:]) for p in proof["proof"]]
    department = summary.get(CERTIFICATE_KIND.issuer_code_key)
    checks = [Check("record_integrity", Status.SKIPPED, "no_record", NO_RECORD),
              verifier._merkle_proof(leaf, root, path)]
    anchor, status, anchored = verifier._anchor_on_chain({**proof, "record": summary}, leaf, root, path,
                                                         CERTIFICATE_KIND, None)
    checks += [anchored, verifier._anchor_issuer(anchor, department, seal, anchored)]
    seal_verifier, root_source = verifier._seal_verifier(seal)
    verifier._apply_compromise(seal_verifier.registry, seal, anchor)
    checks += _seal_without_record(seal_verifier, root_source, seal, department, anchor)
    checks += [verifier._status(summary, anchor, status), verifier._validity(summary),
               Check("document_digest", Status.SKIPPED, "no_record", NO_RECORD)]
    return VerificationResult(verdict(checks, list(REQUIRED[1:])), checks, _summary(summary, proof, anchor, status))


def _seal_without_record(verifier: SealVerifier, root_source: str, seal: bytes, department: Any,
                         anchor: Anchor | None) -> list[Check]:
    """The seal's certificate checks (chain, validity at the signing time the seal states, signer), seal_intact
    SKIPPED; ``seal`` VALID ``seal_certificate_valid`` unless one of them failed."""
    data: dict[str, Any] = {"trust_root": root_source}
    try:
        read = read_seal(seal)
        anchored_at = dt.datetime.fromtimestamp(anchor.timestamp, dt.UTC) if anchor else None
        checks = verifier.certificate_checks(read.frame.certificate, read.signing_time,
                                             department if isinstance(department, str) else None,
                                             anchored_at=anchored_at)
    except SealRejected as e:
        failed = Check("seal_intact", Status.INVALID, e.reason, e.message)
        return [Check("seal", Status.INVALID, e.reason, f"seal_intact: {e.message}", data), failed]
    except BadInput as e:
        failed = Check("seal_intact", Status.INVALID, e.code, e.message)
        return [Check("seal", Status.INVALID, e.code, f"seal_intact: {e.message}", data), failed]
    checks = [Check("seal_intact", Status.SKIPPED, "no_record", "the public proof carries no record, so the seal's "
                    "signature over it needs the holder's bundle"), *checks]
    data["checks"] = [c.name for c in checks]
    failed = next((c for c in checks if c.status is not Status.VALID and c.reason != "no_record"), None)
    if failed is not None:
        return [Check("seal", Status.INVALID, failed.reason, f"{failed.name}: {failed.message}", data), *checks]
    return [Check("seal", Status.VALID, "seal_certificate_valid", "the seal certificate chains to the city root, was "
                  "valid when sealing and is the one on chain at the anchor; its signature over the record needs "
                  "the holder's bundle", data), *checks]


def _summary(summary: Mapping[str, Any], proof: Mapping[str, Any], anchor: Anchor | None,
             status: int | None) -> dict[str, Any]:
    """The public summary with the chain's facts (status, root, anchor)."""
    out = {k: summary.get(k) for k in CERTIFICATE_KIND.summary_keys if k in summary}
    out.update(status=None if status is None else f"{status:02d}", root=proof.get("root"))
    if anchor is not None:
        out.update(anchored_at=dt.datetime.fromtimestamp(anchor.timestamp, dt.UTC).isoformat(),
                   block_number=anchor.block_number, issuer_account=anchor.issuer)
    return out
