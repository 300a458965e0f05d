"""Administration: API keys (listed, revoked, rotated), organisations deactivated and reactivated, holder tokens
revoked."""

from __future__ import annotations


from pydantic import ConfigDict, Field

from api.schemas.common import Model, UtcTime

KEY_EXAMPLE = {"prefix": "clk_3f9a0c1e", "roles": ["counter"], "created_at": "2026-11-27T08:00:00Z",
               "revoked_at": None, "staff_id": "A0231", "staff_name": "李四"}


class ApiKeyOut(Model):
    model_config = ConfigDict(extra="forbid", from_attributes=True, json_schema_extra={"examples": [KEY_EXAMPLE]})

    prefix: str = Field(description="the key's first characters (the key itself is never stored)")
    roles: list[str]
    created_at: UtcTime
    revoked_at: UtcTime | None
    staff_id: str | None = Field(description="the counter staff member who holds this key, if it is a person's key")
    staff_name: str | None


class ApiKeyList(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"org_id": 5, "items": [KEY_EXAMPLE]}]})

    org_id: int
    items: list[ApiKeyOut]


class ApiKeyRevoked(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"org_id": 5, "prefix": "clk_3f9a0c1e", "revoked": True}]})

    org_id: int
    prefix: str
    revoked: bool


class HolderRevoke(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id_type": "001", "id_number": "11430100303989522P"}]})

    id_type: str = Field(max_length=3, description="持证主体代码类型: 111 citizen ID, 001 credit code, ...")
    id_number: str = Field(max_length=40, description="the holder's ID number (checked, never stored)")


class HolderRevoked(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"revoked_before": "2026-11-27T08:00:00Z"}]})

    revoked_before: UtcTime = Field(description="every token of this holder issued until then is refused")
