"""The catalogue in the database: importing the reference data, reading a type, syncing an item's materials.

The rules (codes, validity terms, field schemas) are ``ledger.core.catalogue``'s; this module only writes
and reads the catalogue's tables. The import is idempotent: it upserts by code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.catalogue import (
    CITY_DIVISION,
    DATA,
    HOLDER_KINDS,
    check_field_schema,
    department_uscc,
    type_code,
)
from ledger.core.errors import BadInput, NotFound
from ledger.storage.models import (
    CertificateType,
    Organization,
    ServiceItem,
    ServiceMaterial,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportStats:
    departments: int
    certificate_types: int
    service_items: int
    materials: int


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
