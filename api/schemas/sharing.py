"""Holders' share links, and what an opened link shows."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.common import EXAMPLE_IDENTIFIER, CheckStatus, Model, UtcTime

_LINK = {"id": 4, "identifier": EXAMPLE_IDENTIFIER, "name": "营业执照", "fields": ["holder", "valid_until"],
         "label": "给房东", "created_at": "2026-11-27T08:00:00Z", "expires_at": "2026-12-04T08:00:00Z",
         "revoked_at": None, "state": "active", "openings": 2}


class ShareLinkCreate(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"identifier": EXAMPLE_IDENTIFIER, "fields": ["holder", "valid_until"], "ttl_hours": 168, "label": "给房东"},
        {"identifier": EXAMPLE_IDENTIFIER}]})

    identifier: str = Field(max_length=128, description="one of my certificates")
    fields: list[str] | None = Field(None, max_length=100, description="only these fields (`holder`, `number`, "
                                     "`issue_date`, `valid_from`, `valid_until`, `fields.<key>`); all when omitted")
    ttl_hours: int = Field(168, ge=1, le=720, description="how long the link opens (1 hour to 30 days)")
    label: str | None = Field(None, max_length=100, description="a note for me: whom I gave it to")


class ShareLinkOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_LINK]})

    id: int
    identifier: str
    name: str = Field(description="the certificate type")
    fields: list[str] | None = Field(description="the fields shown; null: all")
    label: str | None
    created_at: UtcTime
    expires_at: UtcTime
    revoked_at: UtcTime | None
    state: Literal["active", "expired", "revoked"]
    openings: int = Field(description="how often it was opened (each opening is in my access log)")


class ShareLinkCreated(ShareLinkOut):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        **_LINK, "openings": 0, "token": "shr_x4Jk2mQ9vT0aLbN7cR5sWd1E",
        "url": "http://127.0.0.1:8000/shared/shr_x4Jk2mQ9vT0aLbN7cR5sWd1E", "qr_svg": "<svg ...>"}]})

    token: str = Field(description="shown once: the link's secret part")
    url: str = Field(description="the public address to give")
    qr_svg: str = Field(description="the address as a QR code (SVG)")


class ShareLinkList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [_LINK]}]})

    items: list[ShareLinkOut]


class SharedField(Model):
    key: str
    label: str = Field(description="the field's Chinese name (from the certificate type's schema)")
    label_en: str
    value: object | None


class SharedCheck(Model):
    name: str
    status: CheckStatus | str
    reason: str


class SharedCertificate(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "identifier": EXAMPLE_IDENTIFIER, "name": "营业执照", "name_en": "Business License",
        "issuing_department": "市场监督管理局", "status": "01", "status_name": "valid", "verdict": "VALID",
        "checks": [{"name": "record_integrity", "status": "VALID", "reason": "leaf_matches"}],
        "fields": [{"key": "holder", "label": "持证主体", "label_en": "Holder", "value": "长沙示例科技有限公司"}],
        "expires_at": "2026-12-04T08:00:00Z", "access_log_entry": 18}]})

    identifier: str
    name: str
    name_en: str | None
    issuing_department: str | None
    status: str
    status_name: str
    verdict: str
    checks: list[SharedCheck]
    fields: list[SharedField] = Field(description="only the fields the holder chose to share")
    expires_at: UtcTime = Field(description="when the link stops opening")
    access_log_entry: int = Field(description="this opening's entry in the holder's access log")
