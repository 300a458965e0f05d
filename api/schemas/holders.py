"""Request and response models of holders (tokens, certificates, use codes, access log and its anchors) and
of counter intake (api/routers/holders.py, api/routers/intake.py; the rules are enforced by ``ledger.holders.tokens``,
``ledger.holders.usecodes``, ``ledger.holders.accesslog`` and ``ledger.holders.intake``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    UtcTime,
    EXAMPLE_DEPARTMENT,
    EXAMPLE_HASH,
    EXAMPLE_IDENTIFIER,
    EXAMPLE_TYPE_CODE,
    AnchorStatus,
    CheckStatus,
    Model,
)
from api.schemas.verification import CheckOut

EXAMPLE_CITIZEN_ID = "430102199001010012"
_CHECK_EXAMPLE = {"name": "status", "status": "VALID", "reason": "valid", "message": "", "data": {"code": "01"}}


class HolderTokenRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id_type": "111", "id_number": EXAMPLE_CITIZEN_ID, "ttl_minutes": 60}]})

    id_type: str = Field(max_length=3, description="持证主体代码类型: 111 citizen ID, 001 credit code, ...")
    id_number: str = Field(max_length=40, description="the holder's ID number (checked, never stored)")
    ttl_minutes: int = Field(60, ge=1, le=1440, description="how long the token is valid")


class HolderTokenOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "token": "clh_eyJ2IjoxLCJoayI6IjljMWYuLi4iLCJleHAiOjE3OTk5OTk5OTl9.Qm9ndXMtc2lnbmF0dXJl",
        "token_type": "Bearer", "expires_at": "2026-11-27T21:45:00Z"}]})

    token: str = Field(description="send as `Authorization: Bearer <token>` to the /holders/me calls")
    token_type: Literal["Bearer"] = "Bearer"
    expires_at: UtcTime


class CertificateSummary(Model):
    """What a holder, or a counter at intake, reads of one certificate version (``ledger.holders.tokens.summary``)."""

    identifier: str
    name: str = Field(description="证照名称 (the type's name)")
    type_code: str
    number: str
    version: int
    issuing_department: str | None
    issue_date: dt.date
    valid_from: dt.date
    valid_until: dt.date | None
    status: str = Field(description="01 valid, 02 suspended, 03 revoked, 04 cancelled, 05 expired, 07 withdrawn, "
                                    "08 superseded")


class HolderCertificate(CertificateSummary):
    status_name: str
    current: bool = Field(description="false for a version a renewal or amendment replaced")


class HolderCertificateList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [{
        "identifier": EXAMPLE_IDENTIFIER, "name": "营业执照", "type_code": EXAMPLE_TYPE_CODE, "number": "BL-2025-000001",
        "version": 1, "issuing_department": "市场监督管理局", "issue_date": "2025-03-01", "valid_from": "2025-03-01",
        "valid_until": None, "status": "03", "status_name": "revoked", "current": True}]}]})

    items: list[HolderCertificate]


class UseCodeOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "code": "7KQ4-M2XD-93TB", "expires_at": "2026-11-27T20:50:00Z", "ttl_seconds": 300,
        "qr_png": "iVBORw0KGgoAAAANSUhEUgAA..."}]})

    code: str = Field(description="用证码: show it (or its QR code) at the counter; one use, this holder only")
    expires_at: UtcTime
    ttl_seconds: int
    qr_png: str = Field(description="the code as a QR code: PNG, base64 (use as data:image/png;base64,...)")
    qr_svg: str | None = Field(None, description="the same QR code as an SVG document (scales on any screen)")


class AccessLogCounter(Model):
    uscc: str = Field(description="the counter's unified social credit code")
    name: str | None


class AccessLogServiceItem(Model):
    code: str
    name: str | None


class AccessLogCertificate(Model):
    identifier: str
    name: str | None


_ACCESS_ENTRY_EXAMPLE: dict[str, Any] = {
    "id": 17, "intake_id": "3f2a9c0e5b7d4e1fa0c2b4d6e8f01234", "time": "2026-11-27T20:46:01.250+00:00",
    "counter": {"uscc": "12430100MB1234567X", "name": "市政务服务中心综合窗口"}, "staff_id": "A0231",
    "service_item": {"code": "YJS117001", "name": "开办企业一件事"}, "case_number": "2026-XK-000123",
    "certificates": [{"identifier": EXAMPLE_IDENTIFIER, "name": "营业执照"}], "anchor_status": "anchored",
}


class AccessLogEntryOut(Model):
    """One use, as anchored: who (counter, staff member), when, for what (service item, case), which certificates;
    or a lookup by bare identifier that showed the holder masked (a counter's verification, the public QR page)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ACCESS_ENTRY_EXAMPLE]})

    id: int
    kind: Literal["intake", "share_opening", "lookup"] = Field(
        "intake", description="a counter's intake, an opening of one of my share links, or a lookup by bare "
                              "identifier that showed me masked (by a counter, or by the public through the QR page)")
    intake_id: str = Field(description="the intake's id (or the opening's, the lookup's)")
    time: UtcTime = Field(description="when (a lookup: the first of its `lookups`)")
    counter: AccessLogCounter | None = Field(description="intakes and a counter's lookups: the counter; null for the "
                                                         "public")
    staff_id: str | None = Field(description="intakes: the staff member's ID (lookups: when their own key was used)")
    staff_name: str | None = Field(None, description="the staff member, when their own key was used")
    service_item: AccessLogServiceItem | None
    case_number: str | None
    share_link: int | None = Field(None, description="share openings: the link's id")
    fields: list[str] | None = Field(None, description="share openings: the fields shown")
    lookups: int | None = Field(None, description="lookups: how many by this caller within a few seconds from `time` "
                                                  "(each showed the holder masked, never the fields)")
    certificates: list[AccessLogCertificate]
    anchor_status: AnchorStatus


class AccessLogPage(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [_ACCESS_ENTRY_EXAMPLE], "next_before": None}]})

    items: list[AccessLogEntryOut]
    next_before: int | None = Field(description="pass as `before` for older entries; null when there are no more")


class AccessLogChain(Model):
    chain_id: int
    contract: str
    tx_hash: str | None
    block_number: int | None
    anchored_at: UtcTime | None


class AccessLogAnchorOut(Model):
    """VALID when the record hashes to the leaf, the proof leads to the root and the contract holds that root,
    anchored as an access-log batch by the platform's audit writer. SKIPPED while the entry waits for its batch."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "entry_id": 17, "anchor_status": "anchored", "verdict": "VALID",
        "checks": [{"name": "anchor_on_chain", "status": "VALID", "reason": "anchored", "message": "",
                    "data": {"block_number": 42}}],
        "record": {"format": "certledger/access/1", "intake_id": "3f2a9c0e5b7d4e1fa0c2b4d6e8f01234", "...": "..."},
        "leaf": "0x" + EXAMPLE_HASH, "root": "0x" + EXAMPLE_HASH, "proof": ["0x" + EXAMPLE_HASH],
        "chain": {"chain_id": 31337, "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                  "tx_hash": "0x" + EXAMPLE_HASH, "block_number": 42, "anchored_at": "2026-11-27T20:46:05Z"},
    }]})

    entry_id: int
    anchor_status: AnchorStatus
    verdict: CheckStatus
    checks: list[CheckOut]
    record: dict[str, Any] = Field(description="the anchored record (canonical JSON, RFC 8785, with its salt)")
    leaf: str = Field(description="keccak256(keccak256(sha256(canonical record))), hex")
    root: str | None
    proof: list[str]
    chain: AccessLogChain | None


class IntakeHolder(Model):
    id_type: str = Field(max_length=3, description="持证主体代码类型: 111 citizen ID, 001 credit code, ...")
    id_number: str = Field(max_length=40, description="the ID number shown at the counter")


class IntakeRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "service_item_code": "YJS117001", "holder": {"id_type": "111", "id_number": EXAMPLE_CITIZEN_ID},
        "use_code": "7KQ4-M2XD-93TB", "case_number": "2026-XK-000123", "staff_id": "A0231"}]})

    service_item_code: str = Field(max_length=40, description="政务服务事项编码")
    holder: IntakeHolder
    use_code: str = Field(max_length=32, description="用证码 the holder generated (hyphens and spaces are ignored)")
    case_number: str = Field(max_length=64, description="办件编号: the counter's case number")
    staff_id: str | None = Field(None, max_length=64, description="the staff member's ID at the counter: only with "
                                 "the counter's shared key; a staff member's own key names its holder, and this is "
                                 "then ignored")


class IntakeCertificate(CertificateSummary):
    holder: str | None
    issuing_department_code: str | None
    fields: dict[str, Any]
    labelled: dict[str, Any] = Field(default_factory=dict, description="the metadata under its Chinese labels "
                                     "(GB/T 36903 fields, and the type's own fields under 扩展信息)")


class IntakeVerification(Model):
    verdict: CheckStatus
    checks: list[CheckOut]


class IntakeMaterial(Model):
    position: int
    name: str
    certificate_type_code: str | None
    required: bool
    outcome: Literal["provided", "missing", "not_linked"] = Field(
        description="provided: the holder's certificate (see its verification); missing: the holder has none of "
                    "this type; not_linked: no certificate type stands for this material (paper as before)")
    certificate: IntakeCertificate | None
    verification: IntakeVerification | None


class IntakeServiceItem(Model):
    code: str
    name: str
    name_en: str | None
    department: str
    department_code: str


class IntakeAccessLogEntry(Model):
    id: int
    intake_id: str
    time: UtcTime
    counter: AccessLogCounter
    staff_id: str
    service_item_code: str
    case_number: str
    certificates: list[str] = Field(description="identifiers of every certificate this intake returned")
    leaf: str
    anchor_status: AnchorStatus


class IntakeOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "intake_id": "3f2a9c0e5b7d4e1fa0c2b4d6e8f01234",
        "service_item": {"code": "YJS117001", "name": "开办企业一件事", "name_en": None,
                         "department": "市场监督管理局", "department_code": EXAMPLE_DEPARTMENT},
        "materials": [
            {"position": 0, "name": "营业执照", "certificate_type_code": EXAMPLE_TYPE_CODE, "required": True,
             "outcome": "provided",
             "certificate": {"identifier": EXAMPLE_IDENTIFIER, "name": "营业执照", "type_code": EXAMPLE_TYPE_CODE,
                             "number": "BL-2025-000001", "version": 1, "holder": "长沙示例科技有限公司",
                             "issuing_department": "市场监督管理局", "issuing_department_code": EXAMPLE_DEPARTMENT,
                             "issue_date": "2025-03-01", "valid_from": "2025-03-01", "valid_until": None,
                             "status": "01", "fields": {}},
             "verification": {"verdict": "VALID", "checks": [_CHECK_EXAMPLE]}},
            {"position": 1, "name": "食品安全管理制度", "certificate_type_code": None, "required": True,
             "outcome": "not_linked", "certificate": None, "verification": None},
        ],
        "access_log_entry": {
            "id": 17, "intake_id": "3f2a9c0e5b7d4e1fa0c2b4d6e8f01234", "time": "2026-11-27T20:46:01.250Z",
            "counter": {"uscc": "12430100MB1234567X", "name": "市政务服务中心综合窗口"}, "staff_id": "A0231",
            "service_item_code": "YJS117001", "case_number": "2026-XK-000123",
            "certificates": [EXAMPLE_IDENTIFIER], "leaf": "0x" + EXAMPLE_HASH, "anchor_status": "queued"},
    }]})

    intake_id: str
    service_item: IntakeServiceItem
    materials: list[IntakeMaterial]
    access_log_entry: IntakeAccessLogEntry
