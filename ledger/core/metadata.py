"""Certificate metadata: the GB/T 36903 common fields plus the type's own fields.

The API speaks the English names in :data:`COMMON_FIELDS`; schemas and rendered certificates show
the Chinese labels. Type-specific values go under ``fields`` (the standard's extension fields)
and are checked against the certificate type's field schema. Every problem raises BadInput
naming the field, so a caller can fix the exact input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.core.errors import BadInput
from ledger.core.text import clean_text
from ledger.core.uscc import validate_uscc


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required_on_input: bool


# Names and labels of GB/T 36903's common metadata. Some are filled by the platform
# (identifier, type, departments, status), so the caller need not send them.
COMMON_FIELDS: tuple[Field, ...] = (
    Field("identifier", "证照标识", False),
    Field("name", "证照名称", False),
    Field("number", "证照编号", True),
    Field("type_name", "证照类型名称", False),
    Field("type_code", "证照类型代码", False),
    Field("defining_department", "证照定义机构", False),
    Field("defining_department_code", "证照定义机构代码", False),
    Field("issuing_department", "证照颁发机构", False),
    Field("issuing_department_code", "证照颁发机构代码", False),
    Field("issue_date", "证照颁发日期", True),
    Field("valid_from", "证照有效期起始日期", False),
    Field("valid_until", "证照有效期截止日期", False),
    Field("jurisdiction_code", "证照所属行政区划代码", False),
    Field("holder", "持证主体", True),
    Field("holder_id", "持证主体代码", True),
    Field("holder_id_type", "持证主体代码类型", True),
    Field("service_item", "关联事项编码", False),
    Field("fields", "扩展信息", False),
    Field("file", "证照文件", False),
    Field("status", "证照状态", False),
)
COMMON = {f.name: f for f in COMMON_FIELDS}

# Holder ID types (持证主体代码类型): person document codes as in GA/T 517; 001 is this
# platform's code for an organisation's unified social credit code.
HOLDER_ID_TYPES = {
    "111": "居民身份证",
    "414": "普通护照",
    "511": "台湾居民来往大陆通行证",
    "516": "港澳居民来往内地通行证",
    "553": "外国人永久居留身份证",
    "001": "统一社会信用代码",
}
CITIZEN_ID = "111"
CREDIT_CODE = "001"
PERSON_ID_TYPES = frozenset(HOLDER_ID_TYPES) - {CREDIT_CODE}

STATUSES = {
    "01": "有效",
    "02": "暂停",
    "03": "撤销",
    "04": "注销",
    "05": "过期",
    "06": "迁出",
    "07": "收回",
    "99": "其他",
}

FIELD_TYPES = frozenset({"string", "date", "integer", "decimal", "enum"})
_CITIZEN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_DIVISION = re.compile(r"^\d{6}$")
_CITIZEN_SHAPE = re.compile(r"\d{17}[\dX]")
_MONTH = re.compile(r"\d{4}-\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"-?\d{1,16}")
_OTHER_ID = re.compile(r"[0-9A-Z]{5,30}")
_NUMBER = re.compile(r"[\w\-()（）/〔〕\[\]]{1,64}")
MAX_STRING = 2000
MAX_SAFE_INTEGER = 2**53 - 1  # what canonical JSON (RFC 8785, I-JSON) carries exactly


def _bad(code: str, field: str, message: str, **details: Any) -> BadInput:
    return BadInput(code, message, field=field, **details)


def validate_citizen_id(value: str, field: str = "holder_id") -> str:
    """A GB 11643 citizen ID number (18 characters, birth date, check digit); returns it upper-cased."""
    v = value.strip().upper() if isinstance(value, str) else ""
    if not _CITIZEN_SHAPE.fullmatch(v):
        raise _bad("field_invalid", field, f"{field}: a citizen ID number has 17 digits and a check digit or X")
    try:
        dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise _bad("field_invalid", field, f"{field}: {v[6:14]} in the citizen ID number is not a birth date") from None
    total = sum(int(c) * w for c, w in zip(v[:17], _CITIZEN_WEIGHTS, strict=True))
    if "10X98765432"[total % 11] != v[17]:
        raise _bad("field_invalid", field, f"{field}: the citizen ID number fails its check digit (a digit is mistyped)")
    return v


def holder_key(secret: bytes, id_type: str, id_number: str) -> bytes:
    """HMAC-SHA256 of ``id_type:id_number``: the only form in which holder IDs are indexed."""
    return hmac.new(secret, f"{id_type}:{id_number.strip().upper()}".encode(), hashlib.sha256).digest()


def parse_date(value: Any, field: str, *, month_ok: bool = False) -> dt.date:
    """An ISO date (``YYYY-MM-DD``; ``YYYY-MM`` too where ``month_ok``, as the 1st of that month)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            if month_ok and _MONTH.fullmatch(value):
                return dt.date.fromisoformat(value + "-01")
            if _DAY.fullmatch(value):
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _bad("field_invalid", field, f"{field}: {value!r} is not a date; use YYYY-MM-DD", value=repr(value))


def check_field_value(spec: dict[str, Any], value: Any) -> Any:
    """One type-specific value checked against its schema entry, normalised for canonical JSON.

    Dates become ISO strings (``YYYY-MM`` kept as given), integers ints, decimals strings.
    """
    key, kind = spec["key"], spec["type"]

    def bad(expect: str) -> BadInput:
        label = spec.get("label", key)
        return _bad("field_invalid", f"fields.{key}", f"fields.{key} ({label}): {value!r} is not {expect}",
                    label=label, expected=kind)

    if kind == "string":
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        if len(value) > MAX_STRING:
            raise bad(f"a string of at most {MAX_STRING} characters")
        return clean_text(value.strip(), f"fields.{key}", multiline=True)
    if kind == "date":
        if isinstance(value, str) and _MONTH.fullmatch(value):
            parse_date(value, f"fields.{key}", month_ok=True)
            return value
        try:
            return parse_date(value, f"fields.{key}").isoformat()
        except BadInput:
            raise bad("a date (YYYY-MM-DD, or YYYY-MM for a month)") from None
    if kind == "integer":
        if isinstance(value, bool):
            raise bad("an integer")
        if isinstance(value, int) and abs(value) <= MAX_SAFE_INTEGER:
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()) and abs(int(value)) <= MAX_SAFE_INTEGER:
            return int(value)
        raise bad("an integer")
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise bad("a decimal number")
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            raise bad("a decimal number") from None
        if not d.is_finite():
            raise bad("a finite decimal number")
        return format(d, "f")
    if kind == "enum":
        values = spec.get("values") or []
        if value not in values:
            label = spec.get("label", key)
            raise _bad(
                "field_invalid", f"fields.{key}", f"fields.{key} ({label}): {value!r} is not one of {values}",
                label=label, allowed=values,
            )
        return value
    raise BadInput("schema_invalid", f"the field schema of {key!r} has an unknown type {kind!r}", field=key)


def validate_fields(schema: list[dict[str, Any]], values: Any) -> dict[str, Any]:
    """The type-specific fields, all checked; the first problem is raised with all of them in details."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise _bad("field_invalid", "fields", "fields must be an object mapping field keys to values")
    by_key = {s["key"]: s for s in schema}
    errors: list[BadInput] = []
    out: dict[str, Any] = {}
    for key in values:
        if key not in by_key:
            errors.append(_bad(
                "field_unknown", f"fields.{key}",
                f"fields.{key} is not a field of this certificate type; its fields are {sorted(by_key)}",
            ))
    for key, spec in by_key.items():
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.get("required"):
                errors.append(_bad(
                    "field_missing", f"fields.{key}",
                    f"fields.{key} ({spec.get('label', key)}) is required for this certificate type",
                    label=spec.get("label"),
                ))
            continue
        try:
            out[key] = check_field_value(spec, value)
        except BadInput as e:
            errors.append(e)
    if errors:
        first = errors[0]
        raise BadInput(first.code, first.message, **first.details,
                       errors=[{"code": e.code, "message": e.message, **e.details} for e in errors])
    return out


def validate_holder(id_type: Any, id_number: Any, holder_kind: str) -> tuple[str, str]:
    """Holder ID type and number, checked against the type's holder kind; returns them normalised."""
    if id_type not in HOLDER_ID_TYPES:
        raise _bad("field_invalid", "holder_id_type",
                   f"holder_id_type {id_type!r} is unknown; use one of {sorted(HOLDER_ID_TYPES)} (111 = citizen ID)",
                   allowed=sorted(HOLDER_ID_TYPES))
    if holder_kind == "natural_person" and id_type == CREDIT_CODE:
        raise _bad("field_invalid", "holder_id_type", "this certificate type is held by a person: use a personal ID type such as 111")
    if holder_kind == "legal_entity" and id_type != CREDIT_CODE:
        raise _bad("field_invalid", "holder_id_type",
                   "this certificate type is held by an organisation: use 001 with its unified social credit code")
    if not isinstance(id_number, str) or not id_number.strip():
        raise _bad("field_missing", "holder_id", "holder_id (持证主体代码) is required")
    if id_type == CITIZEN_ID:
        return id_type, validate_citizen_id(id_number)
    if id_type == CREDIT_CODE:
        try:
            return id_type, validate_uscc(id_number)
        except BadInput as e:
            raise _bad("field_invalid", "holder_id", f"holder_id: {e.message}") from e
    v = id_number.strip().upper()
    if not _OTHER_ID.fullmatch(v):
        raise _bad("field_invalid", "holder_id", f"holder_id: {id_number!r} must be 5-30 letters or digits")
    return id_type, v


def validate_metadata(meta: dict[str, Any], schema: list[dict[str, Any]], holder_kind: str) -> dict[str, Any]:
    """Caller-supplied metadata checked against GB/T 36903's fields and the type's field schema.

    Returns a normalised copy (dates as ISO strings). Fields the platform derives (identifier,
    type, departments, validity end, status) are checked for shape only; the issuer fills or
    overrides them.
    """
    if not isinstance(meta, dict):
        raise BadInput("metadata_invalid", "metadata must be a JSON object")
    unknown = sorted(set(meta) - set(COMMON))
    if unknown:
        raise _bad("field_unknown", unknown[0],
                   f"{unknown[0]} is not a metadata field; type-specific values go under 'fields'",
                   unknown=unknown, allowed=sorted(COMMON))
    for f in COMMON_FIELDS:
        if f.required_on_input and meta.get(f.name) in (None, ""):
            raise _bad("field_missing", f.name, f"{f.name} ({f.label}) is required")
    out = dict(meta)
    number = meta["number"]
    if not isinstance(number, str) or not _NUMBER.fullmatch(number.strip()):
        raise _bad("field_invalid", "number", "number (证照编号) must be 1-64 letters, digits or -()/[]")
    out["number"] = number.strip()
    holder = meta["holder"]
    if not isinstance(holder, str) or not holder.strip() or len(holder) > 200:
        raise _bad("field_invalid", "holder", "holder (持证主体) must be the holder's name, 1-200 characters")
    out["holder"] = clean_text(holder.strip(), "holder")
    out["holder_id_type"], out["holder_id"] = validate_holder(meta["holder_id_type"], meta["holder_id"], holder_kind)
    issue = parse_date(meta["issue_date"], "issue_date")
    start = parse_date(meta["valid_from"], "valid_from") if meta.get("valid_from") else issue
    out["issue_date"], out["valid_from"] = issue.isoformat(), start.isoformat()
    if meta.get("valid_until"):
        end = parse_date(meta["valid_until"], "valid_until")
        if end < start:
            raise _bad("field_invalid", "valid_until", f"valid_until {end} is before valid_from {start}")
        out["valid_until"] = end.isoformat()
    code = meta.get("jurisdiction_code")
    if code not in (None, "") and not (isinstance(code, str) and _DIVISION.match(code)):
        raise _bad("field_invalid", "jurisdiction_code", "jurisdiction_code must be a 6-digit administrative division code")
    status = meta.get("status")
    if status not in (None, "") and status not in STATUSES:
        raise _bad("field_invalid", "status", f"status {status!r} is not one of {sorted(STATUSES)}", allowed=sorted(STATUSES))
    for name in ("identifier", "name", "type_name", "type_code", "defining_department", "defining_department_code",
                 "issuing_department", "issuing_department_code", "service_item", "file"):
        if meta.get(name) is not None and not isinstance(meta[name], str):
            raise _bad("field_invalid", name, f"{name} ({COMMON[name].label}) must be a string")
        if isinstance(meta.get(name), str):
            out[name] = clean_text(meta[name], name)
    out["fields"] = validate_fields(schema, meta.get("fields"))
    return out


def labelled(meta: dict[str, Any], schema: list[dict[str, Any]]) -> dict[str, Any]:
    """The same metadata keyed by Chinese labels, for rendering and for the GB/T 36903 view."""
    labels = {s["key"]: s.get("label", s["key"]) for s in schema}
    out = {COMMON[k].label: v for k, v in meta.items() if k in COMMON and k != "fields"}
    out[COMMON["fields"].label] = {labels.get(k, k): v for k, v in (meta.get("fields") or {}).items()}
    return out
