"""GB/T 36903 metadata and type-specific fields, checked against the real catalogue's schemas."""

from __future__ import annotations

import json

import pytest

from ledger.core.catalogue import DATA
from ledger.core.errors import BadInput
from ledger.core.metadata import (
    COMMON_FIELDS,
    holder_key,
    labelled,
    validate_citizen_id,
    validate_fields,
    validate_metadata,
)

TYPES = {t["name"]: t for t in json.loads((DATA / "certificate-types.json").read_text(encoding="utf-8"))}
LICENSE = TYPES["营业执照"]
ID_CARD = TYPES["居民身份证"]
CITIZEN = "11010519491231002X"  # GB 11643's own example


def license_meta(**over) -> dict:
    meta = {
        "number": "JY13501000000001",
        "issue_date": "2025-03-01",
        "holder": "某某科技有限公司",
        "holder_id_type": "001",
        "holder_id": "91350100M000100Y43",
        "fields": {
            "unified_social_credit_code": "91350100M000100Y43",
            "entity_type": "其他有限责任公司",
            "legal_representative": "张三",
            "registered_capital": 100.5,
            "established_on": "2020-05-06",
            "address": "某市某区某路1号",
            "business_scope": "软件开发",
        },
    }
    meta.update(over)
    return meta


def fails(meta: dict, ctype: dict = LICENSE) -> BadInput:
    with pytest.raises(BadInput) as e:
        validate_metadata(meta, ctype["fields"], ctype["holder_kind"])
    return e.value


def test_valid_metadata_is_normalised() -> None:
    out = validate_metadata(license_meta(holder_id="91350100m000100y43"), LICENSE["fields"], "legal_entity")
    assert out["holder_id"] == "91350100M000100Y43"
    assert out["valid_from"] == "2025-03-01"  # defaults to the issue date
    assert out["fields"]["registered_capital"] == "100.5"  # decimals kept exact, as strings
    assert "business_term" not in out["fields"]


def test_every_common_field_has_a_chinese_label() -> None:
    assert len({f.label for f in COMMON_FIELDS}) == len(COMMON_FIELDS)
    view = labelled(validate_metadata(license_meta(), LICENSE["fields"], "legal_entity"), LICENSE["fields"])
    assert view["持证主体"] == "某某科技有限公司"
    assert view["扩展信息"]["法定代表人（负责人、经营者）"] == "张三"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"entity_type": "外星企业"}, "field_invalid", "fields.entity_type"),
        ({"registered_capital": "a lot"}, "field_invalid", "fields.registered_capital"),
        ({"registered_capital": True}, "field_invalid", "fields.registered_capital"),
        ({"established_on": "2020-02-30"}, "field_invalid", "fields.established_on"),
        ({"established_on": "06/05/2020"}, "field_invalid", "fields.established_on"),
        ({"address": "   "}, "field_missing", "fields.address"),
        ({"address": None}, "field_missing", "fields.address"),
        ({"colour": "red"}, "field_unknown", "fields.colour"),
    ],
)
def test_bad_type_fields_are_named(fields: dict, code: str, field: str) -> None:
    meta = license_meta()
    meta["fields"] = {**meta["fields"], **fields}
    err = fails(meta)
    assert err.code == code and err.details["field"] == field
    assert field.split(".")[1] in err.message


def test_all_field_problems_are_reported_together() -> None:
    meta = license_meta()
    meta["fields"] = {**meta["fields"], "entity_type": "x", "address": None, "extra": 1}
    err = fails(meta)
    assert {(e["code"], e["field"]) for e in err.details["errors"]} == {
        ("field_unknown", "fields.extra"), ("field_invalid", "fields.entity_type"), ("field_missing", "fields.address"),
    }


def test_integer_and_month_dates() -> None:
    schema = [
        {"key": "n", "label": "人数", "type": "integer", "required": True},
        {"key": "paid_to", "label": "缴至年月", "type": "date", "required": True},
    ]
    assert validate_fields(schema, {"n": "12", "paid_to": "2025-07"}) == {"n": 12, "paid_to": "2025-07"}
    for bad in ({"n": 1.5, "paid_to": "2025-07"}, {"n": 1, "paid_to": "2025-13"}):
        with pytest.raises(BadInput) as e:
            validate_fields(schema, bad)
        assert e.value.code == "field_invalid"


@pytest.mark.parametrize(
    ("over", "code", "field"),
    [
        ({"number": None}, "field_missing", "number"),
        ({"holder": ""}, "field_missing", "holder"),
        ({"issue_date": "2025-3-1"}, "field_invalid", "issue_date"),
        ({"valid_until": "2024-01-01"}, "field_invalid", "valid_until"),
        ({"holder_id_type": "111", "holder_id": CITIZEN}, "field_invalid", "holder_id_type"),
        ({"holder_id": "91350100M000100Y44"}, "field_invalid", "holder_id"),
        ({"holder_id_type": "999"}, "field_invalid", "holder_id_type"),
        ({"status": "08"}, "field_invalid", "status"),
        ({"jurisdiction_code": "4301"}, "field_invalid", "jurisdiction_code"),
        ({"colour": "red"}, "field_unknown", "colour"),
    ],
)
def test_bad_common_fields_are_named(over: dict, code: str, field: str) -> None:
    err = fails(license_meta(**over))
    assert (err.code, err.details["field"]) == (code, field)


def test_citizen_ids_are_checked_for_persons() -> None:
    meta = {"number": "430100200001", "issue_date": "2025-01-01", "holder": "张三", "holder_id_type": "111",
            "holder_id": CITIZEN.lower(), "fields": {"gender": "男", "ethnicity": "汉", "birth_date": "1949-12-31",
                                                     "address": "某市", "issuing_authority": "某市公安局"}}
    schema = {f["key"]: f for f in ID_CARD["fields"]}
    meta["fields"] = {k: v for k, v in meta["fields"].items() if k in schema}
    for key, spec in schema.items():
        if spec["required"] and key not in meta["fields"]:
            meta["fields"][key] = spec["values"][0] if spec["type"] == "enum" else "2000-01-01" if spec["type"] == "date" else "x"
    assert validate_metadata(meta, ID_CARD["fields"], "natural_person")["holder_id"] == CITIZEN
    for bad in ("110105194912310021", "11010519491331002X", "1101051949123100"):
        err = fails({**meta, "holder_id": bad}, ID_CARD)
        assert (err.code, err.details["field"]) == ("field_invalid", "holder_id")
    err = fails({**meta, "holder_id_type": "001", "holder_id": "91350100M000100Y43"}, ID_CARD)
    assert err.details["field"] == "holder_id_type"


def test_citizen_id_check_digit() -> None:
    assert validate_citizen_id("11010519491231002x") == CITIZEN
    with pytest.raises(BadInput, match="check digit"):
        validate_citizen_id("110105194912310029")


def test_holder_key_is_keyed_and_normalised() -> None:
    a = holder_key(b"s1", "111", CITIZEN)
    assert a == holder_key(b"s1", "111", CITIZEN.lower() + " ")
    assert a != holder_key(b"s2", "111", CITIZEN) and a != holder_key(b"s1", "414", CITIZEN)
    assert len(a) == 32
