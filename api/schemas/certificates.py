"""Certificates as departments issue, list and change them: requests, answers, lifecycle and history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    UtcTime,
    EXAMPLE_CID,
    EXAMPLE_HASH,
    EXAMPLE_HOLDER_USCC,
    EXAMPLE_IDENTIFIER,
    EXAMPLE_TYPE_CODE,
    AnchorInfo,
    AnchorStatus,
    DocumentRef,
    Model,
    StatusAction,
)

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


_HISTORY_EXAMPLE: dict[str, Any] = {
    "identifier": EXAMPLE_IDENTIFIER, "current_version": EXAMPLE_IDENTIFIER.replace(".001.X", ".002.Y"),
    "events": [
        {"at": "2025-03-01T08:00:00Z", "action": "issue", "status": "01", "reason": None,
         "tx_hash": "0x" + EXAMPLE_HASH, "block_number": 42, "identifier": EXAMPLE_IDENTIFIER, "by": "市场监督管理局"},
        {"at": "2026-03-01T08:00:00Z", "action": "amend", "status": "08", "reason": "住所变更",
         "tx_hash": "0x" + EXAMPLE_HASH, "block_number": 58, "identifier": EXAMPLE_IDENTIFIER, "by": "市场监督管理局"},
    ]}


class HistoryEventOut(Model):
    at: UtcTime
    action: str = Field(description="issue, suspend, reinstate, revoke, cancel, withdraw, renew, amend")
    status: str = Field(description="the version's status after the event")
    reason: str | None
    tx_hash: str | None = Field(description="the transaction (for an issue: the anchoring one; null while queued)")
    block_number: int | None
    identifier: str = Field(description="the version the event is about")
    by: str = Field(description="the department that acted")


class DepartmentHistoryEventOut(HistoryEventOut):
    actor: str | None = Field(description="which of the department's API keys (its prefix), or cli")


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
