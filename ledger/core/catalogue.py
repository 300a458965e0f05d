"""The certificate catalogue (证照目录): departments, certificate types and service items.

The reference data (``ledger/data/*.json``) names departments but carries no credit codes, so
each city department gets a stable, valid government-body code derived from its name
(``11`` + the city's division code + a body from the name's SHA-256). A type's code is its
defining department's code plus the type's 3-digit catalogue number, so codes never change when
the data is re-imported or reordered. The import is idempotent: it upserts by code.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.errors import BadInput, NotFound
from ledger.core.metadata import FIELD_TYPES
from ledger.storage.models import CertificateType, Organization, ServiceItem, ServiceMaterial
from ledger.core.uscc import derive_uscc

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[1] / "data"
CITY_DIVISION = "430100"  # the demo city's administrative division code
HOLDER_KINDS = frozenset({"natural_person", "legal_entity", "both"})


@dataclass(frozen=True)
class ImportStats:
    departments: int
    certificate_types: int
    service_items: int
    materials: int


def department_uscc(name: str, division: str = CITY_DIVISION) -> str:
    """The stable credit code this platform gives the city department ``name``."""
    return derive_uscc(f"department:{name}", division=division)


def type_code(department_code: str, seq: int) -> str:
    if not 1 <= seq <= 999:
        raise BadInput("type_seq_invalid", f"catalogue number {seq} must be 1-999 to form a type code")
    return f"{department_code}{seq:03d}"


def valid_until(valid_from: dt.date, validity_years: int | None) -> dt.date | None:
    """End of a fixed term: the day before the same date ``validity_years`` later (None: no fixed term).

    A term starting on 29 February ends on 28 February.
    """
    if validity_years is None:
        return None
    year = valid_from.year + validity_years
    day = min(valid_from.day, calendar.monthrange(year, valid_from.month)[1])
    anniversary = dt.date(year, valid_from.month, day)
    return anniversary - dt.timedelta(days=1) if day == valid_from.day else anniversary


def check_field_schema(fields: Any, where: str) -> list[dict[str, Any]]:
    """A certificate type's field schema must be usable by ``ledger.core.metadata.validate_fields``."""
    if not isinstance(fields, list):
        raise BadInput("schema_invalid", f"{where}: fields must be a list")
    keys: set[str] = set()
    for f in fields:
        key = f.get("key") if isinstance(f, dict) else None
        if not isinstance(key, str) or not key.isidentifier() or key in keys:
            raise BadInput("schema_invalid", f"{where}: field key {key!r} is missing, not snake_case or repeated")
        keys.add(key)
        if f.get("type") not in FIELD_TYPES:
            raise BadInput("schema_invalid", f"{where}: field {key} has type {f.get('type')!r}, not one of {sorted(FIELD_TYPES)}")
        if f["type"] == "enum" and not (isinstance(f.get("values"), list) and f["values"]):
            raise BadInput("schema_invalid", f"{where}: enum field {key} needs a non-empty list of values")
        if not isinstance(f.get("required"), bool):
            raise BadInput("schema_invalid", f"{where}: field {key} needs required: true or false")
    return fields


def read_json(name: str, data_dir: Path = DATA) -> list[dict[str, Any]]:
    return json.loads((data_dir / name).read_text(encoding="utf-8"))


def _upsert(session: Session, model: type, key: str, value: Any, **attrs: Any) -> Any:
    obj = session.execute(select(model).where(getattr(model, key) == value)).scalar_one_or_none()
    if obj is None:
        obj = model(**{key: value}, **attrs)
        session.add(obj)
    else:
        for k, v in attrs.items():
            setattr(obj, k, v)
    return obj


def import_catalogue(session: Session, data_dir: Path = DATA, division: str = CITY_DIVISION) -> ImportStats:
    """Upsert the departments, certificate types, service items and their materials. Commits."""
    types = read_json("certificate-types.json", data_dir)
    items = read_json("service-items.json", data_dir)
    with session.begin():
        depts: dict[str, Organization] = {}
        for t in types:
            if t["department"] not in depts:
                depts[t["department"]] = _upsert(
                    session, Organization, "uscc", department_uscc(t["department"], division),
                    kind="department", name=t["department"], name_en=t.get("department_en"),
                )
        for it in items:
            if it["department"] not in depts:
                raise BadInput("catalogue_invalid", f"service item {it['code']}: unknown department {it['department']!r}")
        session.flush()
        by_name: dict[str, CertificateType] = {}
        for t in types:
            if t["holder_kind"] not in HOLDER_KINDS:
                raise BadInput("catalogue_invalid", f"type {t['name']}: holder_kind {t['holder_kind']!r} is unknown")
            dept = depts[t["department"]]
            by_name[t["name"]] = _upsert(
                session, CertificateType, "code", type_code(dept.uscc, t["seq"]),
                seq=t["seq"], name=t["name"], name_en=t.get("name_en"), department_id=dept.id,
                holder_kind=t["holder_kind"], validity_years=t.get("validity_years"),
                fields=check_field_schema(t["fields"], f"type {t['name']}"),
            )
        session.flush()
        materials = 0
        for it in items:
            item = _upsert(
                session, ServiceItem, "code", it["code"], name=it["name"], name_en=it.get("name_en"),
                department_id=depts[it["department"]].id, holder_kind=it["holder_kind"],
            )
            rows: list[tuple[str, bool, int | None]] = []
            for m in it["materials"]:
                linked = m.get("certificate_type")
                if linked is not None and linked not in by_name:
                    raise BadInput("catalogue_invalid", f"service item {it['code']}: material links unknown type {linked!r}")
                rows.append((m["name"], bool(m["required"]), None if linked is None else by_name[linked].id))
            sync_materials(session, item, rows)
            materials += len(rows)
    stats = ImportStats(len(depts), len(by_name), len(items), materials)
    log.info("catalogue imported", extra={"stats": stats.__dict__})
    return stats


def sync_materials(session: Session, item: ServiceItem, materials: list[tuple[str, bool, int | None]]) -> None:
    """Make the item's materials exactly ``materials`` ((name, required, certificate type id), in order).

    Rows are updated in place by position, so a material keeps its id when an item is redefined.
    Runs in the caller's transaction.
    """
    session.flush()
    existing = {
        m.position: m
        for m in session.execute(select(ServiceMaterial).where(ServiceMaterial.service_item_id == item.id)).scalars()
    }
    for pos, (name, required, type_id) in enumerate(materials):
        row = existing.pop(pos, None) or ServiceMaterial(service_item_id=item.id, position=pos)
        row.name, row.required, row.certificate_type_id = name, required, type_id
        session.add(row)
    for stale in existing.values():
        session.delete(stale)


def get_type(session: Session, code: str) -> CertificateType:
    ctype = session.execute(select(CertificateType).where(CertificateType.code == code)).scalar_one_or_none()
    if ctype is None:
        raise NotFound("certificate_type_not_found", f"no certificate type has code {code!r}; GET the catalogue for valid codes")
    return ctype
