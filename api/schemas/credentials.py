"""Request and response models of the standard formats (api/routers/credentials.py; the formats are
``ledger.credentials``, documented in docs/credentials.md), and the examples of the JSON-LD documents."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.common import EXAMPLE_IDENTIFIER, Model

_DID = "did:web:127.0.0.1%3A8000:dids:11430100MB1577322W"
_LIST = "http://127.0.0.1:8000/status-lists/11430100MB1577322W/revocation"
_PROOF = {"type": "DataIntegrityProof", "cryptosuite": "ecdsa-rdfc-2019", "created": "2026-11-27T02:00:00Z",
          "verificationMethod": f"{_DID}#seal-6f1c2a", "proofPurpose": "assertionMethod", "proofValue": "z3FXQ…"}
VC_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "http://127.0.0.1:8000/credentials/contexts/gbt36903/v1"],
    "id": f"http://127.0.0.1:8000/verify/{EXAMPLE_IDENTIFIER}", "type": ["VerifiableCredential", "EcertCredential"],
    "issuer": {"id": _DID, "name": "市场监督管理局"}, "name": "营业执照", "validFrom": "2026-11-27T00:00:00+08:00",
    "credentialSubject": {"type": "CertificateHolder", "holderName": "长沙示例科技有限公司",
                          "identifier": EXAMPLE_IDENTIFIER, "fields": {"legal_representative": "张三"}},
    "credentialStatus": [{"id": f"{_LIST}#17", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                          "statusListIndex": "17", "statusListCredential": _LIST}],
    "evidence": [{"type": ["ChainAnchor"], "leaf": "0x…", "merkleRoot": "0x…", "transactionHash": "0x…"}],
    "proof": _PROOF,
}
STATUS_LIST_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2"], "id": _LIST,
    "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": _DID,
    "validFrom": "2026-11-27T02:00:00Z", "validUntil": "2026-11-27T03:00:00Z",
    "credentialSubject": {"id": f"{_LIST}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                          "encodedList": "uH4sIAAAAAAAA_-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"},
    "proof": _PROOF,
}
DID_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"], "id": _DID,
    "verificationMethod": [{"id": f"{_DID}#seal-6f1c2a", "type": "Multikey", "controller": _DID,
                            "publicKeyMultibase": "zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"}],
    "assertionMethod": [f"{_DID}#seal-6f1c2a"],
}
CONTEXT_EXAMPLE = {"@context": {"@version": 1.1, "@protected": True, "identifier": "urn:certledger:gbt36903:identifier"}}


class SdJwtRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "disclose": ["name", "number", "issuing_department", "fields.legal_representative"]}]})
    disclose: list[str] = Field(max_length=64, description="the fields to reveal: GB/T 36903 names (`holder`, "
                                "`number`, ...) and `fields.<key>` for the type's own fields")


class SdJwtOut(Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"sd_jwt": "eyJ0eXAiOiJkYytzZC1qd3Qi…~WyJhYm…~"}]})
    sd_jwt: str = Field(description="the issuer-signed JWT, then the chosen disclosures, `~`-separated")


class SdJwtVerifyRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "sd_jwt": "eyJ0eXAiOiJkYytzZC1qd3Qi…~WyJhYm…~"}]})
    sd_jwt: str = Field(max_length=65_536, description="an SD-JWT VC presentation of this platform's departments")


class SdJwtVerificationOut(Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "valid": True, "claims": {"iss": _DID, "name": "营业执照", "number": "BL-2026-000001"},
        "checks": {"signature": True, "disclosures": True, "validity": True, "status": True, "anchor": True},
        "errors": []}]})
    valid: bool
    claims: dict[str, Any] = Field(description="the claims of the token and those disclosed")
    checks: dict[str, bool | None] = Field(description="signature, disclosures, validity, status, anchor")
    errors: list[str]
