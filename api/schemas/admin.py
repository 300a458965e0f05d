"""What the platform administrator manages: organisations, API keys, the catalogue, seals.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    UtcTime,
    EXAMPLE_DEPARTMENT,
    EXAMPLE_HASH,
    EXAMPLE_TYPE_CODE,
    Model,
    OrgKind,
    Role,
)

SealAlgorithm = Literal["p256", "sm2"]
SEAL_ALGORITHM_HELP = ("印章算法: p256 (ECDSA P-256, CMS seals, PDF seals too) or sm2 (SM2/SM3, GB/T 38540 seals; "
                       "pyHanko cannot seal PDFs with SM2, so issue without a rendered document)")


class OrganizationCreate(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "department", "name": "市场监督管理局", "uscc": EXAMPLE_DEPARTMENT,
        "name_en": "Municipal Administration for Market Regulation",
    }]})

    kind: OrgKind
    name: str = Field(min_length=1, max_length=200)
    uscc: str = Field(max_length=18, description="统一社会信用代码 (GB 32100, check character verified)")
    name_en: str | None = Field(None, max_length=200)
    seal_algorithm: SealAlgorithm = Field("p256", description=SEAL_ALGORITHM_HELP)


class SealChoice(Model):
    """The seal a department or association gets at activation or rotation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"algorithm": "sm2"}]})

    algorithm: SealAlgorithm | None = Field(None, description=SEAL_ALGORITHM_HELP + "; default: p256 at "
                                            "activation, the current seal's algorithm at rotation")


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
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"roles": ["department"]}, {"roles": ["counter"], "staff_id": "A0231", "staff_name": "李四"}]})

    roles: list[Role] = Field(min_length=1)
    staff_id: str | None = Field(None, max_length=64, description="a counter staff member's own key: their staff ID "
                                 "(工作人员编号), recorded in the access log for every intake with this key")
    staff_name: str | None = Field(None, max_length=100, description="the staff member's name (工作人员姓名)")


class ApiKeyCreated(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "org_id": 3, "roles": ["department"], "key": "clk_3f9a0c1e5b7d4a2e8c6f0b1d3e5a7c9f"}]})

    org_id: int
    roles: list[str]
    key: str = Field(description="shown once; only its hash is stored")
    prefix: str | None = Field(None, description="the key's first characters, which name it in lists and logs")
    staff_id: str | None = None
    staff_name: str | None = None


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


class SealOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "org_id": 3, "serial": "5f2a9c0e7b1d", "fingerprint": "0x" + EXAMPLE_HASH, "algorithm": "p256",
        "valid_from": "2026-11-27T08:00:00Z", "valid_until": "2031-11-27T08:00:00Z", "current": True,
        "compromise_time": None}]})

    org_id: int
    serial: str = Field(description="the seal certificate's serial number (hex)")
    fingerprint: str = Field(description="SHA-256 of the certificate (DER), as registered on chain")
    algorithm: str
    valid_from: UtcTime
    valid_until: UtcTime
    current: bool = Field(description="the seal new certificates are sealed with")
    compromise_time: UtcTime | None = Field(description="seals made or anchored at or after it fail")


class SealList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [SealOut.model_config["json_schema_extra"]["examples"][0]]}]})  # type: ignore[index]

    items: list[SealOut] = Field(description="newest first")


class SealCompromise(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "serial": "5f2a9c0e7b1d", "compromise_time": "2026-11-27T06:30:00Z"}]})

    serial: str = Field(max_length=64, pattern=r"^[0-9a-fA-F]{1,64}$", description="the compromised seal's serial (hex)")
    compromise_time: UtcTime = Field(description="when the key was compromised (no zone: UTC)")
