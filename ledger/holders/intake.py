"""Counter intake: for a service item and the holder at the counter, each required material's certificate.

The holder consents with a use code (``ledger.holders.usecodes``). For each material linked to a
certificate type the holder's current certificate of that type is found by holder key (not
replaced by a renewal or amendment; a valid one before others, then the newest) and verified
(``ledger.verify.service.verify_identifier``), so a revoked one is shown with its INVALID result;
a type the holder lacks is ``missing``; a material no certificate type stands for is ``not_linked``.

Everything that can refuse is checked before anything is written. Chain reads (verification) run
outside any transaction; then ONE transaction spends the use code and writes the access-log entry
listing every certificate shown (``ledger.holders.accesslog``). A refused intake changes nothing: the
code stays unspent and no entry exists.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from ledger.app.library import Library
from ledger.core.errors import BadInput, Forbidden, NotFound
from ledger.core.metadata import labelled
from ledger.core.statuses import shown_status, today_china
from ledger.holders import accesslog, usecodes
from ledger.holders import tokens as holders
from ledger.storage.models import (
    AccessLogEntry,
    Certificate,
    CertificateType,
    Organization,
    ServiceItem,
    ServiceMaterial,
    as_utc,
)
from ledger.verify import service as verification

log = logging.getLogger(__name__)

MAX_TEXT = 64
INTAKE_DOCUMENTS_FOR = dt.timedelta(hours=8)  # a counter opens an intake's sealed PDFs within its working day


def _text(value: Any, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise BadInput("field_missing", f"{field} is required: the counter's own reference for this intake", field=field)
    if len(text) > MAX_TEXT:
        raise BadInput("field_invalid", f"{field} has at most {MAX_TEXT} characters", field=field)
    return text


def _service_item(session: Any, code: Any) -> tuple[ServiceItem, Organization]:
    row = session.execute(
        select(ServiceItem, Organization).join(Organization, Organization.id == ServiceItem.department_id)
        .where(ServiceItem.code == code)
    ).one_or_none()
    if row is None:
        raise NotFound("service_item_not_found",
                       f"no service item has code {code!r}: use a code from the catalogue of service items",
                       service_item_code=code)
    return row.ServiceItem, row.Organization


def _current(certs: list[Certificate], today: dt.date) -> Certificate:
    """The one to show of a holder's certificates of one type: a valid (and unexpired) one first, then the newest."""
    return max(certs, key=lambda c: (shown_status(c.status, c.valid_until, today) == "01", c.issued_on, c.id))


def _summary(cert: Certificate, ctype: CertificateType, today: dt.date) -> dict[str, Any]:
    """What the counter reads of a provided certificate; ``labelled``: the same metadata under the Chinese labels of
    the GB/T 36903 fields and of the type's schema, so a clerk reads 法定代表人, not legal_representative."""
    m = cert.meta
    return {**holders.summary(cert, ctype.name, today), "holder": m.get("holder"),
            "issuing_department_code": m.get("issuing_department_code"), "fields": m.get("fields") or {},
            "labelled": labelled(m, ctype.fields or [])}


def open_intake(
    lib: Library,
    counter: Organization,
    *,
    service_item_code: Any,
    id_type: Any,
    id_number: Any,
    use_code: Any,
    case_number: Any,
    staff_id: Any,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Open an intake (API shape of ``POST /counters/intakes``); spends the use code and logs the use."""
    now = now or dt.datetime.now(dt.UTC)
    case_number, staff_id = _text(case_number, "case_number"), _text(staff_id, "staff_id")
    key = holders.holder_key_of(lib, id_type, id_number)
    with lib.sessions() as session:
        item, department = _service_item(session, service_item_code)
        code_id = usecodes.check(session, lib, use_code, key, now)
        writer = accesslog.audit_writer(session)
        materials = session.execute(
            select(ServiceMaterial, CertificateType)
            .outerjoin(CertificateType, CertificateType.id == ServiceMaterial.certificate_type_id)
            .where(ServiceMaterial.service_item_id == item.id).order_by(ServiceMaterial.position)
        ).all()
        codes = {t.code for _, t in materials if t is not None}
        held: dict[str, list[Certificate]] = {}
        for cert in session.scalars(
            select(Certificate).where(Certificate.holder_key == key, Certificate.type_code.in_(codes),
                                      ~holders.replaced())
        ):
            held.setdefault(cert.type_code, []).append(cert)
    today = today_china(now)
    out_materials = []
    verified: dict[str, dict[str, Any]] = {}  # identifier -> verification; a certificate is verified once
    for material, ctype in materials:
        entry: dict[str, Any] = {"position": material.position, "name": material.name,
                                 "certificate_type_code": ctype.code if ctype else None,
                                 "required": material.required, "certificate": None, "verification": None}
        if ctype is None:
            entry["outcome"] = "not_linked"
        elif ctype.code not in held:
            entry["outcome"] = "missing"
        else:
            cert = _current(held[ctype.code], today)
            if cert.identifier not in verified:
                result = verification.verify_identifier(lib, cert.identifier).to_dict()
                verified[cert.identifier] = {"verdict": result["verdict"], "checks": result["checks"]}
            entry.update(outcome="provided", certificate=_summary(cert, ctype, today),
                         verification=verified[cert.identifier])
        out_materials.append(entry)
    shown = list(verified)
    with lib.sessions() as session, session.begin():
        usecodes.spend(session, code_id, key, now)
        logged = accesslog.record_use(
            session, writer=writer, counter=counter, staff_id=staff_id, service_item_code=item.code,
            case_number=case_number, holder_key=key, certificates=shown, use_code_id=code_id, now=now,
        )
    log.info("intake opened", extra={"intake_id": logged.intake_id, "counter_org_id": counter.id,
                                     "service_item": item.code, "certificates": len(shown),
                                     "access_log_id": logged.id})
    return {
        "intake_id": logged.intake_id,
        "service_item": {"code": item.code, "name": item.name, "name_en": item.name_en,
                         "department": department.name, "department_code": department.uscc},
        "materials": out_materials,
        "access_log_entry": {
            "id": logged.id, "intake_id": logged.intake_id, "time": logged.created_at,
            "counter": {"uscc": counter.uscc, "name": counter.name}, "staff_id": staff_id,
            "service_item_code": item.code, "case_number": case_number, "certificates": shown,
            "leaf": "0x" + logged.leaf.hex(), "anchor_status": "queued",
        },
    }


def intake_certificate(lib: Library, counter: Organization, intake_id: str, identifier: str,
                       now: dt.datetime | None = None) -> str:
    """The identifier of a certificate the holder's use code showed to this counter in intake ``intake_id``, so
    that its sealed PDF may be opened there, for ``INTAKE_DOCUMENTS_FOR`` after the intake (the intake's access-log
    entry already names it). NotFound ``intake_not_found`` for another counter's intake or another certificate;
    Forbidden ``intake_expired`` once that time is over."""
    now = now or dt.datetime.now(dt.UTC)
    with lib.sessions() as session:
        entry = session.scalars(select(AccessLogEntry).where(AccessLogEntry.intake_id == intake_id,
                                                             AccessLogEntry.counter_org_id == counter.id)).first()
    if entry is None or identifier not in entry.certificates:
        raise NotFound("intake_not_found", f"this counter opened no intake {intake_id!r} showing {identifier}",
                       intake_id=intake_id, identifier=identifier)
    if as_utc(entry.created_at) + INTAKE_DOCUMENTS_FOR < now:
        raise Forbidden("intake_expired", f"intake {intake_id} was opened more than "
                        f"{INTAKE_DOCUMENTS_FOR.total_seconds() / 3600:.0f} hours ago: ask the holder for a new use code",
                        intake_id=intake_id)
    return identifier
