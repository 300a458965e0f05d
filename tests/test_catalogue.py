"""Importing the catalogue reference data, derived codes, and the validity rule."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from sqlalchemy import Engine, func, select

from ledger.core.catalogue import DATA, check_field_schema, department_uscc, valid_until
from ledger.core.errors import BadInput, NotFound
from ledger.core.identifiers import (
    make_identifier,
    parse_identifier,
    validate_type_code,
)
from ledger.core.uscc import validate_uscc
from ledger.storage.catalogue import get_type, import_catalogue
from ledger.storage.models import (
    CertificateType,
    Organization,
    ServiceItem,
    ServiceMaterial,
)


def test_import_is_complete_valid_and_idempotent(engine: Engine, sessions) -> None:
    first = import_catalogue(sessions())
    assert (first.departments, first.certificate_types, first.service_items, first.materials) == (31, 150, 31, 213)
    packaged = {t["name"] for t in json.loads((DATA / "certificate-types.json").read_text(encoding="utf-8"))}

    def counts(s) -> tuple[int, int, int]:
        # the database is shared by the session's tests, which may add types of their own
        return (
            s.scalar(select(func.count()).select_from(CertificateType).where(CertificateType.name.in_(packaged))),
            s.scalar(select(func.count()).select_from(ServiceMaterial)),
            s.scalar(select(func.count()).select_from(ServiceMaterial).where(ServiceMaterial.certificate_type_id.is_not(None))),
        )

    with sessions() as s:
        codes_before = dict(s.execute(select(CertificateType.name, CertificateType.code)).all())
        counts_before = counts(s)
    assert counts_before[0] == 150
    again = import_catalogue(sessions())
    assert again == first
    with sessions() as s:
        assert counts(s) == counts_before
        assert dict(s.execute(select(CertificateType.name, CertificateType.code)).all()) == codes_before
        names = {t["department"] for t in json.loads((DATA / "certificate-types.json").read_text(encoding="utf-8"))}
        depts = s.execute(select(Organization).where(Organization.name.in_(names))).scalars().all()
        assert len(depts) == 31 and {d.kind for d in depts} == {"department"}
        assert {d.uscc for d in depts} == {department_uscc(n) for n in names}
        for d in depts:
            assert validate_uscc(d.uscc) == d.uscc and d.uscc.startswith("11430100")
        license = get_type(s, codes_before["营业执照"])
        dept = s.get(Organization, license.department_id)
        assert license.code == dept.uscc + "001" and dept.name == "市场监督管理局"
        assert validate_type_code(license.code) == license.code
        ident = make_identifier(license.code, dept.uscc, "20250000001", 1)
        assert parse_identifier(ident).type_code == license.code
        item = s.execute(select(ServiceItem).where(ServiceItem.code == "YJS117001")).scalar_one()
        assert item.department_id == dept.id


def test_department_codes_are_stable() -> None:
    assert department_uscc("公安局") == department_uscc("公安局") != department_uscc("民政局")
    assert department_uscc("公安局", "110000").startswith("11110000")


def test_unknown_type_code(engine: Engine, sessions) -> None:
    with sessions() as s, pytest.raises(NotFound) as e:
        get_type(s, "X" * 21)
    assert e.value.code == "certificate_type_not_found"


def test_material_linking_an_unknown_type_is_refused(engine: Engine, sessions, tmp_path) -> None:
    shutil.copy(DATA / "certificate-types.json", tmp_path)
    items = json.loads((DATA / "service-items.json").read_text(encoding="utf-8"))
    items[0]["materials"][0]["certificate_type"] = "不存在的证"
    (tmp_path / "service-items.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(BadInput, match="不存在的证"):
        import_catalogue(sessions(), data_dir=tmp_path)


@pytest.mark.parametrize(
    "fields",
    [
        [{"key": "a", "type": "colour", "required": True}],
        [{"key": "a", "type": "enum", "required": True}],
        [{"key": "a", "type": "string", "required": True}, {"key": "a", "type": "string", "required": True}],
        [{"key": "a b", "type": "string", "required": True}],
        [{"key": "a", "type": "string"}],
    ],
)
def test_bad_field_schemas_are_refused(fields: list) -> None:
    with pytest.raises(BadInput) as e:
        check_field_schema(fields, "type X")
    assert e.value.code == "schema_invalid"


@pytest.mark.parametrize(
    ("start", "years", "end"),
    [
        (dt.date(2023, 4, 3), 5, dt.date(2028, 4, 2)),
        (dt.date(2024, 1, 1), 1, dt.date(2024, 12, 31)),
        (dt.date(2024, 2, 29), 1, dt.date(2025, 2, 28)),
        (dt.date(2024, 2, 29), 4, dt.date(2028, 2, 28)),
        (dt.date(2024, 3, 1), 20, dt.date(2044, 2, 29)),
        (dt.date(2024, 3, 1), None, None),
    ],
)
def test_validity_rule(start: dt.date, years: int | None, end: dt.date | None) -> None:
    assert valid_until(start, years) == end
