"""Service items (政务服务事项) and their required materials, as the platform administrator defines them.

A service item names the department that handles it and the kind of holder who applies; each of its
materials is either linked to a certificate type of the catalogue (the counter can then take the
holder's e-certificate instead of paper) or not linked. The coverage report gives the share of
materials linked to a certificate type, overall and per item and department: the city's target is
100%, and the report lists what is still unlinked. The packaged catalogue's items are imported by
``ledger.storage.catalogue.import_catalogue``; both paths write materials through ``catalogue.sync_materials``.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.catalogue import HOLDER_KINDS
from ledger.core.errors import BadInput, Conflict, NotFound
from ledger.core.identifiers import validate_type_code
from ledger.core.uscc import validate_uscc
from ledger.storage.catalogue import get_type, sync_materials
from ledger.storage.models import (
    CertificateType,
    Organization,
    ServiceItem,
    ServiceMaterial,
)

log = logging.getLogger(__name__)

CODE = re.compile(r"[0-9A-Za-z_-]{1,40}")
MAX_MATERIALS = 100
TARGET_SHARE = 1.0


@dataclass(frozen=True)
class MaterialView:
    position: int
    name: str
    required: bool
    certificate_type_code: str | None
    certificate_type_name: str | None


@dataclass(frozen=True)
class ServiceItemView:
    code: str
    name: str
    name_en: str | None
    department_uscc: str
    department_name: str
    holder_kind: str
    materials: list[MaterialView]


@dataclass
class Share:
    """How many of ``materials`` are linked to a certificate type."""

    materials: int = 0
    linked: int = 0

    @property
    def share(self) -> float | None:
        return round(self.linked / self.materials, 4) if self.materials else None

    def to_dict(self) -> dict[str, Any]:
        return {"materials": self.materials, "linked": self.linked, "share": self.share,
                "meets_target": self.materials > 0 and self.linked == self.materials}


@dataclass
class Coverage:
    overall: Share
    required_only: Share
    departments: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"target": TARGET_SHARE, "overall": self.overall.to_dict(), "required_only": self.required_only.to_dict(),
                "departments": self.departments, "items": self.items}


# ---------------------------------------------------------------------- defining


def _text(value: Any, what: str, code: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise BadInput(code, f"{what} must be a text of 1-200 characters", field=what)
    return value.strip()


def _materials(session: Session, materials: Any) -> list[tuple[str, bool, int | None]]:
    if not isinstance(materials, list) or not 1 <= len(materials) <= MAX_MATERIALS:
        raise BadInput("materials_invalid", f"materials must be a list of 1-{MAX_MATERIALS} materials", field="materials")
    out: list[tuple[str, bool, int | None]] = []
    names: set[str] = set()
    for i, m in enumerate(materials):
        where = f"materials[{i}]"
        if not isinstance(m, dict) or set(m) - {"name", "required", "certificate_type"}:
            raise BadInput("materials_invalid", f"{where} is an object with name, required and certificate_type",
                           field=where)
        name = _text(m.get("name"), f"{where}.name", "materials_invalid")
        if name in names:
            raise BadInput("material_duplicate", f"{where}: material {name!r} is listed twice", field=f"{where}.name")
        names.add(name)
        required = m.get("required", True)
        if not isinstance(required, bool):
            raise BadInput("materials_invalid", f"{where}.required must be true or false", field=f"{where}.required")
        type_id = None
        if m.get("certificate_type") is not None:
            try:
                ctype = get_type(session, validate_type_code(m["certificate_type"]))
            except (BadInput, NotFound) as e:
                raise BadInput("certificate_type_unknown", f"{where}.certificate_type: {e.message}",
                               field=f"{where}.certificate_type") from None
            if not ctype.active:
                raise BadInput("certificate_type_unknown", f"{where}.certificate_type {ctype.code} ({ctype.name}) is "
                               "no longer active", field=f"{where}.certificate_type")
            type_id = ctype.id
        out.append((name, required, type_id))
    return out


def _department(session: Session, uscc: Any) -> Organization:
    try:
        code = validate_uscc(uscc)
    except BadInput as e:
        raise BadInput("department_invalid", f"department: {e.message}", field="department") from None
    org = session.execute(select(Organization).where(Organization.uscc == code)).scalar_one_or_none()
    if org is None or org.kind != "department":
        raise BadInput("department_unknown", f"no department has the credit code {code}; GET /admin/organizations"
                       "?kind=department lists them", field="department")
    return org


def define_service_item(session: Session, definition: dict[str, Any], *, replace: bool = False) -> ServiceItemView:
    """Create a service item with its materials (or, with ``replace``, create or redefine it). Commits.

    ``definition``: code, name, name_en (optional), department (credit code), holder_kind, materials
    [{name, required (default true), certificate_type (a type code, or null when not linked)}].
    """
    code = definition.get("code")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise BadInput("service_item_code_invalid", f"code {code!r:.60} must be 1-40 letters, digits, - or _",
                       field="code")
    holder_kind = definition.get("holder_kind")
    if holder_kind not in HOLDER_KINDS:
        raise BadInput("holder_kind_invalid", f"holder_kind {holder_kind!r:.40} must be one of {sorted(HOLDER_KINDS)}",
                       field="holder_kind")
    with session.begin():
        name = _text(definition.get("name"), "name", "name_invalid")
        name_en = definition.get("name_en")
        name_en = None if name_en is None else _text(name_en, "name_en", "name_invalid")
        department = _department(session, definition.get("department"))
        materials = _materials(session, definition.get("materials"))
        item = session.execute(select(ServiceItem).where(ServiceItem.code == code)).scalar_one_or_none()
        if item is not None and not replace:
            raise Conflict("service_item_exists", f"service item {code} already exists ({item.name}); PUT "
                           f"/admin/service-items/{code} redefines it", service_item=code)
        if item is None:
            item = ServiceItem(code=code)
            session.add(item)
        item.name, item.name_en, item.department_id, item.holder_kind = name, name_en, department.id, holder_kind
        sync_materials(session, item, materials)
    log.info("service item defined", extra={"code": code, "materials": len(materials), "replaced": replace})
    return get_service_item(session, code)


# ---------------------------------------------------------------------- reading

_ITEMS = select(ServiceItem, Organization).join(Organization, ServiceItem.department_id == Organization.id)


def _views(session: Session, rows: Sequence[Any]) -> list[ServiceItemView]:
    """Views of (ServiceItem, Organization) rows, their materials read in one query."""
    ids = [item.id for item, _ in rows]
    materials: dict[int, list[MaterialView]] = defaultdict(list)
    if ids:
        q = (select(ServiceMaterial, CertificateType.code, CertificateType.name)
             .outerjoin(CertificateType, ServiceMaterial.certificate_type_id == CertificateType.id)
             .where(ServiceMaterial.service_item_id.in_(ids)).order_by(ServiceMaterial.position))
        for m, type_code, type_name in session.execute(q):
            materials[m.service_item_id].append(MaterialView(m.position, m.name, m.required, type_code, type_name))
    return [ServiceItemView(item.code, item.name, item.name_en, dept.uscc, dept.name, item.holder_kind,
                            materials[item.id]) for item, dept in rows]


def get_service_item(session: Session, code: str) -> ServiceItemView:
    """One service item with its materials; NotFound ``service_item_not_found``."""
    row = session.execute(_ITEMS.where(ServiceItem.code == code)).first()
    if row is None:
        raise NotFound("service_item_not_found", f"no service item has code {code!r:.60}; GET /admin/service-items "
                       "lists them", service_item=code)
    return _views(session, [row])[0]


def list_service_items(session: Session, department: str | None = None) -> list[ServiceItemView]:
    """Every service item (of one department, by credit code, when given), by code."""
    q = _ITEMS.order_by(ServiceItem.code)
    if department is not None:
        q = q.where(Organization.uscc == department)
    return _views(session, session.execute(q).all())


def coverage(session: Session, department: str | None = None) -> Coverage:
    """Share of materials linked to a certificate type: overall, required materials only, per
    department and per item (with the names of the unlinked materials, i.e. what is left to do)."""
    m = ServiceMaterial
    q = (select(ServiceItem.code, ServiceItem.name, Organization.uscc, Organization.name,
                func.count(m.id), func.count(m.certificate_type_id))
         .join(Organization, ServiceItem.department_id == Organization.id)
         .outerjoin(m, m.service_item_id == ServiceItem.id)
         .group_by(ServiceItem.code, ServiceItem.name, Organization.uscc, Organization.name)
         .order_by(ServiceItem.code))
    unlinked_q = (select(ServiceItem.code, m.name).join(m, m.service_item_id == ServiceItem.id)
                  .where(m.certificate_type_id.is_(None)).order_by(ServiceItem.code, m.position))
    required_q = (select(func.count(m.id), func.count(m.certificate_type_id))
                  .join(ServiceItem, m.service_item_id == ServiceItem.id)
                  .join(Organization, ServiceItem.department_id == Organization.id).where(m.required.is_(True)))
    if department is not None:
        q = q.where(Organization.uscc == department)
        unlinked_q = unlinked_q.join(Organization, ServiceItem.department_id == Organization.id).where(
            Organization.uscc == department)
        required_q = required_q.where(Organization.uscc == department)
    unlinked: dict[str, list[str]] = defaultdict(list)
    for code, name in session.execute(unlinked_q):
        unlinked[code].append(name)
    overall = Share()
    departments: dict[str, tuple[str, Share, list[str]]] = {}
    items = []
    for code, name, uscc, dept_name, total, linked in session.execute(q):
        share = Share(total, linked)
        overall.materials += total
        overall.linked += linked
        dept = departments.setdefault(uscc, (dept_name, Share(), []))
        dept[1].materials += total
        dept[1].linked += linked
        dept[2].append(code)
        items.append({"code": code, "name": name, "department_uscc": uscc, **share.to_dict(),
                      "unlinked": unlinked.get(code, [])})
    required_total, required_linked = session.execute(required_q).one()
    return Coverage(
        overall, Share(required_total, required_linked),
        [{"uscc": uscc, "name": name, "items": len(codes), **share.to_dict()}
         for uscc, (name, share, codes) in sorted(departments.items())],
        items,
    )
