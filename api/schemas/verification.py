"""Verification answers: the verdict and every named check, as the counters and the public read them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    EXAMPLE_HASH,
    EXAMPLE_IDENTIFIER,
    EXAMPLE_TYPE_CODE,
    CheckStatus,
    Model,
)


class CheckOut(Model):
    name: str = Field(description="the fragment: record_integrity, merkle_proof, anchor_on_chain, ...")
    status: CheckStatus
    reason: str = Field(description="stable machine-readable reason")
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class VerificationOut(Model):
    """VALID only when every required fragment is VALID."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "verdict": "VALID",
        "checks": [
            {"name": "record_integrity", "status": "VALID", "reason": "leaf_matches", "message": "", "data": {}},
            {"name": "merkle_proof", "status": "VALID", "reason": "proof_reaches_root", "message": "", "data": {}},
            {"name": "anchor_on_chain", "status": "VALID", "reason": "anchored", "message": "",
             "data": {"block_number": 42}},
            {"name": "status", "status": "VALID", "reason": "valid", "message": "", "data": {"status": "01"}},
            {"name": "document_digest", "status": "SKIPPED", "reason": "no_document", "message": "", "data": {}},
        ],
        "certificate": {"identifier": EXAMPLE_IDENTIFIER, "type_code": EXAMPLE_TYPE_CODE, "name": "营业执照"},
    }]})

    verdict: CheckStatus
    checks: list[CheckOut]
    certificate: dict[str, Any] = Field(default_factory=dict, description="summary of the verified certificate")


class VerifyIdentifierRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"identifier": EXAMPLE_IDENTIFIER}]})

    identifier: str = Field(max_length=128, description="证照标识 (GB/T 36904)")


BUNDLE_DESCRIPTION = "a proof bundle (format `certledger/bundle/1`, see docs/proof-bundle.md), as exported"


class TrustedDeploymentOut(Model):
    address: str = Field(description="a genuine CertLedger contract (EIP-55)")
    from_block: int = Field(description="the block that deployed it")
    tx_hash: str | None = Field(None, description="the deploying transaction (informative)")


class SealRootOut(Model):
    algorithm: Literal["p256", "sm2"] = Field(description="the root key's algorithm")
    sha256: str = Field(description="SHA-256 (hex) of the root certificate (DER): compare with the city's published one")
    certificate_pem: str


class TrustSealOut(Model):
    format: Literal["cms"]
    der: str = Field(description="detached CMS SignedData (base64 DER) over the RFC 8785 JSON of the list without "
                                 "`seal`, signed by the first P-256 seal root itself")


_WUHAN = "did:web:zwfw.wuhan.example:dids:11420100MB0000000X"
FOREIGN_ISSUER_EXAMPLE = {
    "did": _WUHAN, "name": "武汉市市场监督管理局",
    "did_document": {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
                     "id": _WUHAN, "verificationMethod": [{
                         "id": f"{_WUHAN}#key-1", "type": "Multikey", "controller": _WUHAN,
                         "publicKeyMultibase": "zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"}],
                     "assertionMethod": [f"{_WUHAN}#key-1"]},
    "status_url_prefix": "https://zwfw.wuhan.example/status-lists/",
}


class ForeignIssuerOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [FOREIGN_ISSUER_EXAMPLE]})

    did: str = Field(description="another city's credential issuer (did:web)")
    name: str
    did_document: dict[str, Any] = Field(description="its DID document, pinned: verification never resolves it")
    status_url_prefix: str | None = Field(description="where its status lists may be fetched (none: not checked)")


class TrustListOut(Model):
    """What a verifier trusts outside any bundle (docs/proof-bundle.md, "Where trust comes from")."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "format": "certledger/trust/1", "issued_at": "2026-11-27T08:00:00+00:00", "chain_id": 31337,
        "deployments": [{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "from_block": 1,
                         "tx_hash": "0x" + EXAMPLE_HASH}],
        "seal_roots": [{"algorithm": "p256", "sha256": EXAMPLE_HASH,
                        "certificate_pem": "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n"}],
        "audit_writer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "seal": {"format": "cms", "der": "MIIG…"},
    }]})

    format: Literal["certledger/trust/1"]
    issued_at: str
    chain_id: int
    deployments: list[TrustedDeploymentOut] = Field(description="every genuine deployment, oldest first")
    seal_roots: list[SealRootOut] = Field(description="the city seal roots")
    audit_writer: str | None = Field(description="the platform's account that anchors the access log")
    issuers: list[ForeignIssuerOut] | None = Field(None, description="other cities' credential issuers whose W3C VCs "
                                                   "the counters accept (absent when none)")
    seal: TrustSealOut
