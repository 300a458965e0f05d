"""The API's request and response models: the OpenAPI schema, with an example for each.

Field names are the English GB/T 36903 names (``ledger.core.metadata.COMMON_FIELDS``); the Chinese
label of each is in its description. Domain rules (identifier check characters, a type's field
schema, holder ID check digits) are enforced by the ledger, so their errors keep specific codes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_TYPE_CODE = "114301007463904398001"
EXAMPLE_DEPARTMENT = "114301007463904398"
EXAMPLE_IDENTIFIER = "1.2.156.3005.2.114301007463904398001.114301007463904398.20250000001.001.X"
EXAMPLE_HOLDER_USCC = "11430100303989522P"
EXAMPLE_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
EXAMPLE_HASH = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

Role = Literal["admin", "department", "counter", "association"]
OrgKind = Literal["department", "association", "counter"]
CheckStatus = Literal["VALID", "INVALID", "SKIPPED", "ERROR"]
AnchorStatus = Literal["queued", "pending", "sent", "anchored"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---


class ErrorInfo(Model):
    code: str = Field(description="machine-readable snake_case code", examples=["certificate_duplicate"])
    message: str = Field(description="what went wrong and how to fix it")
    details: dict[str, Any] = Field(default_factory=dict, description="structured context (field, allowed values...)")


class ErrorResponse(Model):
    """Every 4xx/5xx answer has this shape."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"error": {
            "code": "field_missing",
            "message": "fields.legal_representative (法定代表人（负责人、经营者）) is required for this certificate type",
            "details": {"field": "fields.legal_representative"},
        }}]},
    )
    error: ErrorInfo


# --- certificates ---

_ISSUE_EXAMPLE: dict[str, Any] = {
    "type_code": EXAMPLE_TYPE_CODE,
    "number": "BL-2025-000001",
    "issue_date": "2025-03-01",
    "holder": "长沙示例科技有限公司",
    "holder_id": EXAMPLE_HOLDER_USCC,
    "holder_id_type": "001",
    "fields": {
        "unified_social_credit_code": EXAMPLE_HOLDER_USCC,
        "entity_type": "其他有限责任公司",
        "legal_representative": "张三",
        "established_on": "2020-06-18",
        "address": "长沙市岳麓区示例路1号",
        "business_scope": "软件开发；信息技术咨询服务",
    },
    "document": "render",
}


class CertificateIssueRequest(Model):
    """One certificate to issue. Platform-derived fields (identifier, type name, departments,
    status) are filled in by the service."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ISSUE_EXAMPLE]})

    type_code: str = Field(max_length=32, description="证照类型代码: defining department's credit code + 3 digits",
                           examples=[EXAMPLE_TYPE_CODE])
    number: str = Field(max_length=64, description="证照编号: the department's own certificate number")
    issue_date: dt.date = Field(description="证照颁发日期")
    valid_from: dt.date | None = Field(None, description="证照有效期起始日期 (default: issue_date)")
    valid_until: dt.date | None = Field(None, description="证照有效期截止日期 (default: from the type's validity rule)")
    holder: str = Field(max_length=200, description="持证主体: the holder's name")
    holder_id: str = Field(max_length=40, description="持证主体代码: citizen ID number or credit code")
    holder_id_type: str = Field(max_length=3, description="持证主体代码类型: 111 citizen ID, 001 credit code, ...",
                                examples=["111", "001"])
    service_item: str | None = Field(None, max_length=40, description="关联事项编码")
    jurisdiction_code: str | None = Field(None, max_length=6, description="证照所属行政区划代码 (default: the city's)")
    fields: dict[str, Any] = Field(default_factory=dict, description="扩展信息: values for the type's field schema")
    document: str = Field(
        "render",
        description='"render" (default: render and seal a PDF), "none", or a base64 PDF to seal and store',
    )


class CertificateIssueManyRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"certificates": [_ISSUE_EXAMPLE]}]})

    certificates: list[CertificateIssueRequest] = Field(
        min_length=1, max_length=10_000, description="issued all together or not at all"
    )


class DocumentRef(Model):
    cid: str = Field(description="IPFS CID of the stored (encrypted) document", examples=[EXAMPLE_CID])
    sha256: str = Field(description="SHA-256 (hex) of the plaintext sealed PDF", examples=[EXAMPLE_HASH])


class IssuedCertificate(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "identifier": EXAMPLE_IDENTIFIER, "type_code": EXAMPLE_TYPE_CODE, "number": "BL-2025-000001",
        "version": 1, "status": "01", "leaf": "0x" + EXAMPLE_HASH, "anchor_status": "queued",
        "document": {"cid": EXAMPLE_CID, "sha256": EXAMPLE_HASH},
    }]})

    identifier: str = Field(description="证照标识 (GB/T 36904)")
    type_code: str
    number: str
    version: int
    status: str = Field(description="证照状态 code: 01 valid, 02 suspended, 03 revoked, ...")
    leaf: str = Field(description="the Merkle leaf (hex) queued for anchoring")
    anchor_status: AnchorStatus
    document: DocumentRef | None = None


class IssuedCertificates(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"certificates": [
        IssuedCertificate.model_config["json_schema_extra"]["examples"][0]]}]})  # type: ignore[index]

    certificates: list[IssuedCertificate]


def hex0x(value: bytes | None) -> str | None:
    """Bytes as the API shows them: 0x-prefixed hex."""
    return None if value is None else "0x" + value.hex()


class AnchorInfo(Model):
    batch_id: int | None = None
    status: AnchorStatus
    root: str | None = Field(None, description="Merkle root (hex)")
    tx_hash: str | None = None
    block_number: int | None = None
    anchored_at: dt.datetime | None = None

    @classmethod
    def of(cls, batch: Any) -> AnchorInfo:
        """Where an item's batch stands (``queued`` while no batch has claimed it)."""
        if batch is None:
            return cls(status="queued")
        return cls(batch_id=batch.id, status=batch.status, root=hex0x(batch.root), tx_hash=hex0x(batch.tx_hash),
                   block_number=batch.block_number, anchored_at=batch.block_time)


class CertificateOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "identifier": EXAMPLE_IDENTIFIER, "type_code": EXAMPLE_TYPE_CODE, "number": "BL-2025-000001",
        "version": 1, "status": "01", "issue_date": "2025-03-01", "valid_from": "2025-03-01",
        "valid_until": None, "metadata": {"holder": "长沙示例科技有限公司", "fields": {}},
        "document": {"cid": EXAMPLE_CID, "sha256": EXAMPLE_HASH},
        "anchor": {"batch_id": 7, "status": "anchored", "root": "0x" + EXAMPLE_HASH, "tx_hash": "0x" + EXAMPLE_HASH,
                   "block_number": 42, "anchored_at": "2025-03-01T08:00:05Z"},
    }]})

    identifier: str
    type_code: str
    number: str
    version: int
    status: str
    issue_date: dt.date
    valid_from: dt.date
    valid_until: dt.date | None
    metadata: dict[str, Any] = Field(description="the GB/T 36903 metadata as issued")
    document: DocumentRef | None
    anchor: AnchorInfo


class CertificatePage(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [CertificateOut.model_config["json_schema_extra"]["examples"][0]],  # type: ignore[index]
        "next_after": 1234,
    }]})

    items: list[CertificateOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


# --- lifecycle ---

StatusAction = Literal["suspend", "reinstate", "revoke", "cancel", "withdraw"]


class StatusChangeRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "suspend", "reason": "经营异常，暂停使用", "reason_code": 0}]})

    action: StatusAction = Field(description="suspend (02), reinstate (01, only from 02), revoke (03), cancel (04), "
                                             "withdraw (07)")
    reason: str = Field(min_length=1, max_length=500, description="why; kept in the certificate's history")
    reason_code: int = Field(0, ge=0, le=65535, description="a numeric reason recorded on chain with the change")


class MassStatusChangeRequest(StatusChangeRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "revoke", "reason": "批量注销", "identifiers": [EXAMPLE_IDENTIFIER]}]})

    identifiers: list[str] = Field(min_length=1, max_length=50_000,
                                   description="the department's certificates; all are checked before any changes")


class StatusTransaction(Model):
    tx_hash: str
    block_number: int
    gas_used: int
    certificates: int = Field(description="leaves this transaction changed")


class StatusChangeOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "action": "revoke", "status": "03", "certificates": 2000, "changed": 2000, "already_on_chain": 0,
        "unchanged": 0, "gas_used": 52447695,
        "transactions": [{"tx_hash": "0x" + EXAMPLE_HASH, "block_number": 57, "gas_used": 26131557,
                          "certificates": 997}]}]})

    action: str
    status: str = Field(description="the status code now on chain and recorded")
    certificates: int
    changed: int = Field(description="changed by this call's transactions")
    already_on_chain: int = Field(description="found already changed on chain (an interrupted earlier call) and "
                                              "now recorded")
    unchanged: int = Field(description="already in this status and recorded: left as they were")
    gas_used: int
    transactions: list[StatusTransaction]


class RenewRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "有效期届满延续", "valid_until": "2031-11-26"}]})

    reason: str = Field(min_length=1, max_length=500)
    reason_code: int = Field(0, ge=0, le=65535)
    issue_date: dt.date | None = Field(None, description="default: today (China time)")
    valid_from: dt.date | None = Field(None, description="default: the issue date")
    valid_until: dt.date | None = Field(None, description="default: from the type's validity rule")
    document: str | None = Field(None, description='"render", "none" or a base64 PDF; default: render if the '
                                                   "earlier version has a document")


class AmendRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "住所变更", "fields": {"address": "长沙市岳麓区示例路2号"}}]})

    reason: str = Field(min_length=1, max_length=500)
    reason_code: int = Field(0, ge=0, le=65535)
    fields: dict[str, Any] = Field(default_factory=dict,
                                   description="changed extension fields (merged over the earlier ones; null removes)")
    holder: str | None = Field(None, max_length=200, description="the same holder's new name (e.g. a renamed company)")
    holder_id: str | None = Field(None, max_length=40, description="must equal the earlier one: an amendment never "
                                                                   "changes the holder (`amendment_changes_holder`)")
    holder_id_type: str | None = Field(None, max_length=3, description="must equal the earlier one")
    service_item: str | None = Field(None, max_length=40)
    jurisdiction_code: str | None = Field(None, max_length=6)
    issue_date: dt.date | None = Field(None, description="default: today (China time)")
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    document: str | None = None


class NewVersionOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "identifier": EXAMPLE_IDENTIFIER.replace(".001.X", ".002.Y"), "version": 2, "supersedes": EXAMPLE_IDENTIFIER,
        "superseded_tx_hash": "0x" + EXAMPLE_HASH, "superseded_block_number": 58, "anchor_status": "queued",
        "leaf": "0x" + EXAMPLE_HASH, "document": None}]})

    identifier: str = Field(description="the new version's identifier (same serial, version + 1)")
    version: int
    supersedes: str = Field(description="the earlier version, now 08 (superseded) on chain")
    superseded_tx_hash: str | None
    superseded_block_number: int | None
    anchor_status: Literal["queued"]
    leaf: str
    document: DocumentRef | None = None


class HistoryEventOut(Model):
    at: dt.datetime
    action: str = Field(description="issue, suspend, reinstate, revoke, cancel, withdraw, renew, amend")
    status: str = Field(description="the version's status after the event")
    reason: str | None
    tx_hash: str | None = Field(description="the transaction (for an issue: the anchoring one; null while queued)")
    block_number: int | None
    identifier: str = Field(description="the version the event is about")
    by: str = Field(description="the department that acted")


class DepartmentHistoryEventOut(HistoryEventOut):
    actor: str | None = Field(description="which of the department's API keys (its prefix), or cli")


_HISTORY_EXAMPLE: dict[str, Any] = {
    "identifier": EXAMPLE_IDENTIFIER, "current_version": EXAMPLE_IDENTIFIER.replace(".001.X", ".002.Y"),
    "events": [
        {"at": "2025-03-01T08:00:00Z", "action": "issue", "status": "01", "reason": None,
         "tx_hash": "0x" + EXAMPLE_HASH, "block_number": 42, "identifier": EXAMPLE_IDENTIFIER, "by": "市场监督管理局"},
        {"at": "2026-03-01T08:00:00Z", "action": "amend", "status": "08", "reason": "住所变更",
         "tx_hash": "0x" + EXAMPLE_HASH, "block_number": 58, "identifier": EXAMPLE_IDENTIFIER, "by": "市场监督管理局"},
    ]}


class HistoryOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_HISTORY_EXAMPLE]})

    identifier: str
    current_version: str = Field(description="the newest version of this certificate (itself if never renewed "
                                             "or amended)")
    events: list[HistoryEventOut] = Field(description="every version's events, oldest first")


class DepartmentHistoryOut(HistoryOut):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        **_HISTORY_EXAMPLE, "events": [{**e, "actor": "api:clk_3f9a0c1e"} for e in _HISTORY_EXAMPLE["events"]]}]})

    events: list[DepartmentHistoryEventOut]


# --- verification ---


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


BUNDLE_EXAMPLE: dict[str, Any] = {
    "format": "certledger/bundle/1",
    "identifier": EXAMPLE_IDENTIFIER,
    "record": {"format": "certledger/record/1", "identifier": EXAMPLE_IDENTIFIER, "...": "..."},
    "seal": {"format": "cms", "der": "MIIG..."},
    "leaf": "0x" + EXAMPLE_HASH,
    "root": "0x" + EXAMPLE_HASH,
    "proof": ["0x" + EXAMPLE_HASH],
    "chain": {"chain_id": 31337, "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
              "tx_hash": "0x" + EXAMPLE_HASH, "block_number": 42, "anchored_at": "2025-03-01T08:00:05+00:00"},
    "trust": {"city_root_pem": "-----BEGIN CERTIFICATE-----...", "seal_certificate_pem": "-----BEGIN CERTIFICATE-----..."},
    "document": {"cid": EXAMPLE_CID, "sha256": EXAMPLE_HASH},
    "exported_at": "2025-03-02T09:00:00+00:00",
}
BUNDLE_DESCRIPTION = "a proof bundle (format `certledger/bundle/1`, see docs/proof-bundle.md), as exported"


# --- administration ---


class OrganizationCreate(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "department", "name": "市场监督管理局", "uscc": EXAMPLE_DEPARTMENT,
        "name_en": "Municipal Administration for Market Regulation",
    }]})

    kind: OrgKind
    name: str = Field(min_length=1, max_length=200)
    uscc: str = Field(max_length=18, description="统一社会信用代码 (GB 32100, check character verified)")
    name_en: str | None = Field(None, max_length=200)


class OrganizationOut(Model):
    model_config = ConfigDict(extra="forbid", from_attributes=True, json_schema_extra={"examples": [{
        "id": 3, "kind": "department", "name": "市场监督管理局", "name_en": "Municipal Administration for Market Regulation",
        "uscc": EXAMPLE_DEPARTMENT, "chain_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "active": True,
    }]})

    id: int
    kind: str
    name: str
    name_en: str | None
    uscc: str
    chain_address: str | None
    active: bool


class OrganizationList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [OrganizationOut.model_config["json_schema_extra"]["examples"][0]]}]})  # type: ignore[index]

    items: list[OrganizationOut]


class ApiKeyCreate(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"roles": ["department"]}]})

    roles: list[Role] = Field(min_length=1)


class ApiKeyCreated(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "org_id": 3, "roles": ["department"], "key": "clk_3f9a0c1e5b7d4a2e8c6f0b1d3e5a7c9f"}]})

    org_id: int
    roles: list[str]
    key: str = Field(description="shown once; only its hash is stored")


class CertificateTypeOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "code": EXAMPLE_TYPE_CODE, "name": "营业执照", "name_en": "Business License",
        "department_uscc": EXAMPLE_DEPARTMENT, "holder_kind": "legal_entity", "validity_years": None,
        "fields": [{"key": "legal_representative", "label": "法定代表人（负责人、经营者）", "type": "string", "required": True}],
        "active": True,
    }]})

    code: str
    name: str
    name_en: str | None
    department_uscc: str
    holder_kind: str
    validity_years: int | None
    fields: list[dict[str, Any]] = Field(description="the field schema: key, label (Chinese), type, required, values")
    active: bool


class CertificateTypeList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [CertificateTypeOut.model_config["json_schema_extra"]["examples"][0]]}]})  # type: ignore[index]

    items: list[CertificateTypeOut]


class CatalogueImported(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "departments": 40, "certificate_types": 150, "service_items": 60, "materials": 240}]})

    departments: int
    certificate_types: int
    service_items: int
    materials: int


# --- seals ---


class SealOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "org_id": 3, "serial": "5f2a9c0e7b1d", "fingerprint": "0x" + EXAMPLE_HASH, "algorithm": "p256",
        "valid_from": "2026-11-27T08:00:00Z", "valid_until": "2031-11-27T08:00:00Z", "current": True,
        "compromise_time": None}]})

    org_id: int
    serial: str = Field(description="the seal certificate's serial number (hex)")
    fingerprint: str = Field(description="SHA-256 of the certificate (DER), as registered on chain")
    algorithm: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    current: bool = Field(description="the seal new certificates are sealed with")
    compromise_time: dt.datetime | None = Field(description="seals made or anchored at or after it fail")


class SealList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [SealOut.model_config["json_schema_extra"]["examples"][0]]}]})  # type: ignore[index]

    items: list[SealOut] = Field(description="newest first")


class SealCompromise(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "serial": "5f2a9c0e7b1d", "compromise_time": "2026-11-27T06:30:00Z"}]})

    serial: str = Field(max_length=64, pattern=r"^[0-9a-fA-F]{1,64}$", description="the compromised seal's serial (hex)")
    compromise_time: dt.datetime = Field(description="when the key was compromised (no zone: UTC)")


# --- health ---


class Health(Model):
    """200 when every dependency answers, else 503 with the same body."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "ok", "checks": [
        {"name": "database", "status": "VALID", "reason": "database_ok", "message": "", "data": {}},
        {"name": "chain", "status": "VALID", "reason": "chain_ok", "message": "", "data": {"block_number": 42}},
        {"name": "ipfs", "status": "VALID", "reason": "ipfs_ok", "message": "", "data": {"version": "0.18.1"}},
    ]}]})

    status: Literal["ok", "degraded"]
    checks: list[CheckOut]
