"""Request and response models of service items, their materials and the coverage report
(api/routers/admin.py; the rules are enforced by ``ledger.holders.service_items``)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.common import EXAMPLE_DEPARTMENT, EXAMPLE_TYPE_CODE, Model

HolderKind = Literal["natural_person", "legal_entity", "both"]

_ITEM_EXAMPLE = {
    "code": "YJS117001", "name": "开办企业一件事", "name_en": "Starting a Business (integrated service)",
    "department": EXAMPLE_DEPARTMENT, "holder_kind": "legal_entity",
    "materials": [
        {"name": "法人股东主体资格证明", "required": False, "certificate_type": EXAMPLE_TYPE_CODE},
        {"name": "公司章程", "required": True, "certificate_type": None},
    ],
}


class MaterialIn(Model):
    name: str = Field(min_length=1, max_length=200, description="材料名称")
    required: bool = Field(True, description="whether the applicant must provide it")
    certificate_type: str | None = Field(None, max_length=32, description="the linked certificate type's code "
                                         "(the counter can take the e-certificate), or null when not linked")


class ServiceItemUpdate(Model):
    """A service item's new definition (the code is the path's)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {k: v for k, v in _ITEM_EXAMPLE.items() if k != "code"}]})

    name: str = Field(min_length=1, max_length=200, description="事项名称")
    name_en: str | None = Field(None, max_length=200)
    department: str = Field(max_length=18, description="the handling department's unified social credit code")
    holder_kind: HolderKind = Field(description="who applies: natural_person, legal_entity or both")
    materials: list[MaterialIn] = Field(min_length=1, max_length=100)


class ServiceItemIn(ServiceItemUpdate):
    """A service item with its required materials, in order."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    code: str = Field(max_length=40, description="事项编码: letters, digits, - and _")


class MaterialOut(Model):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    position: int
    name: str
    required: bool
    certificate_type_code: str | None
    certificate_type_name: str | None


class ServiceItemOut(Model):
    model_config = ConfigDict(extra="forbid", from_attributes=True, json_schema_extra={"examples": [{
        "code": "YJS117001", "name": "开办企业一件事", "name_en": "Starting a Business (integrated service)",
        "department_uscc": EXAMPLE_DEPARTMENT, "department_name": "市场监督管理局", "holder_kind": "legal_entity",
        "materials": [{"position": 0, "name": "法人股东主体资格证明", "required": False,
                       "certificate_type_code": EXAMPLE_TYPE_CODE, "certificate_type_name": "营业执照"}],
    }]})

    code: str
    name: str
    name_en: str | None
    department_uscc: str
    department_name: str
    holder_kind: str
    materials: list[MaterialOut]


class ServiceItemList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [ServiceItemOut.model_config["json_schema_extra"]["examples"][0]]}]})  # type: ignore[index]

    items: list[ServiceItemOut]


class ShareOut(Model):
    materials: int = Field(description="materials counted")
    linked: int = Field(description="of which linked to a certificate type")
    share: float | None = Field(description="linked / materials (null when there are none)")
    meets_target: bool = Field(description="every material is linked")


class DepartmentCoverage(ShareOut):
    uscc: str
    name: str
    items: int


class ItemCoverage(ShareOut):
    code: str
    name: str
    department_uscc: str
    unlinked: list[str] = Field(description="names of the materials not yet linked: what is left to do")


class CoverageOut(Model):
    """Share of service materials linked to a certificate type; the city's target is 1.0 (100%)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "target": 1.0,
        "overall": {"materials": 160, "linked": 112, "share": 0.7, "meets_target": False},
        "required_only": {"materials": 100, "linked": 60, "share": 0.6, "meets_target": False},
        "departments": [{"uscc": EXAMPLE_DEPARTMENT, "name": "市场监督管理局", "items": 4, "materials": 26,
                         "linked": 17, "share": 0.6538, "meets_target": False}],
        "items": [{"code": "YJS117001", "name": "开办企业一件事", "department_uscc": EXAMPLE_DEPARTMENT,
                   "materials": 6, "linked": 4, "share": 0.6667, "meets_target": False,
                   "unlinked": ["公司登记（备案）申请书", "公司章程"]}],
    }]})

    target: float
    overall: ShareOut
    required_only: ShareOut = Field(description="the same over required materials only")
    departments: list[DepartmentCoverage]
    items: list[ItemCoverage]
