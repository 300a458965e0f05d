"""Verification answers: the verdict and every named check, as the counters and the public read them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.common import (
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
