"""The access log: every use of a holder's certificates at a counter, kept as a ledger.

Three kinds of entry: a counter's intake (fields and holder in full, with the holder's use code), an opening of
one of the holder's share links, and a lookup by bare identifier whose answer showed the holder masked (a
counter's verification, or the public page of the certificate's QR code; written in batches by
``ledger.holders.lookups``).

An entry's ``record`` is canonical JSON (RFC 8785) of who used what, when and for what (counter,
staff member, service item, case number, holder key, certificate identifiers, time) plus a random
salt; its leaf (as for certificates, ``ledger.core.record.record_leaf``) is queued in the transaction
that writes the entry and anchored in Merkle batches by the platform's audit writer account
(outbox kind ``access_log``, contract ``BatchKind.ACCESS_LOG``). The salt makes the leaf reveal
nothing; the anchor means no one, the platform included, can drop or change an entry unnoticed:
a holder is shown the record, the leaf, the proof and the root, and :func:`check_anchor` asks the
contract. What a holder reads is taken from the anchored record, not from the row's columns.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.app.library import Library
from ledger.core.checks import Check, Status, verdict
from ledger.core.errors import NotFound, ServiceUnavailable
from ledger.core.merkle import split_proof
from ledger.core.record import (
    ACCESS_FORMAT,
    LOOKUP_FORMAT,
    SHARE_OPENING_FORMAT,
    new_salt,
    record_bytes,
    record_leaf,
)
from ledger.storage.models import (
    AccessLogEntry,
    ApiKey,
    Batch,
    Certificate,
    CertificateType,
    Organization,
    ServiceItem,
    as_utc,
)
from ledger.storage.bulk import bulk_insert
from ledger.storage.outbox import enqueue_leaves, values_by_key
from ledger.verify.fragments import REQUIRED
from ledger.verify.service import service_verifier

KIND = "access_log"
CHECKS = REQUIRED[:4]  # what an entry's anchor check reports


def audit_writer(session: Session) -> Organization:
    """The platform organization whose chain account anchors the access log."""
    org = session.scalar(
        select(Organization)
        .where(Organization.kind == "platform", Organization.chain_address.is_not(None), Organization.active)
        .order_by(Organization.id).limit(1)
    )
    if org is None:
        raise ServiceUnavailable(
            "audit_writer_missing",
            "the platform has no audit writer account, so no use can be logged: activate the platform organization "
            "(certledger up does; otherwise POST /admin/organizations/{id}/activate)",
        )
    return org


def record_use(
    session: Session,
    *,
    writer: Organization,
    counter: Organization,
    staff_id: str,
    service_item_code: str,
    case_number: str,
    holder_key: bytes,
    certificates: Sequence[str],
    use_code_id: int,
    now: dt.datetime,
) -> AccessLogEntry:
    """Write one entry and queue its leaf under the audit writer, in the caller's transaction."""
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    intake_id = uuid.uuid4().hex
    record = {
        "format": ACCESS_FORMAT, "intake_id": intake_id, "counter": counter.uscc, "staff_id": staff_id,
        "service_item_code": service_item_code, "case_number": case_number, "holder_key": holder_key.hex(),
        "certificates": list(certificates), "time": at.isoformat(timespec="milliseconds"), "salt": new_salt(),
    }
    data = record_bytes(record)
    entry = AccessLogEntry(
        intake_id=intake_id, counter_org_id=counter.id, staff_id=staff_id, service_item_code=service_item_code,
        case_number=case_number, holder_key=holder_key, certificates=list(certificates), use_code_id=use_code_id,
        created_at=at, record=data.decode(), salt=record["salt"], leaf=record_leaf(data),
    )
    session.add(entry)
    session.flush()
    enqueue_leaves(session.connection(), KIND, [(writer.id, entry.leaf, entry.id)])
    return entry


def record_opening(
    session: Session, *, writer: Organization, link_id: int, holder_key: bytes, identifier: str,
    fields: Sequence[str], now: dt.datetime,
) -> AccessLogEntry:
    """Write the entry for one opening of a share link (what was shown, when) and queue its leaf, in the caller's
    transaction: the same ledger as intakes, so the holder sees every look at their certificates."""
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    opening_id = uuid.uuid4().hex
    record = {
        "format": SHARE_OPENING_FORMAT, "opening_id": opening_id, "share_link": link_id, "holder_key": holder_key.hex(),
        "certificates": [identifier], "fields": list(fields), "time": at.isoformat(timespec="milliseconds"),
        "salt": new_salt(),
    }
    data = record_bytes(record)
    entry = AccessLogEntry(intake_id=opening_id, holder_key=holder_key, certificates=[identifier], share_link_id=link_id,
                           created_at=at, record=data.decode(), salt=record["salt"], leaf=record_leaf(data))
    session.add(entry)
    session.flush()
    enqueue_leaves(session.connection(), KIND, [(writer.id, entry.leaf, entry.id)])
    return entry


@dataclass(frozen=True)
class Lookup:
    """Lookups of one certificate by one caller (``counter`` None: the public) within a few seconds."""

    identifier: str
    counter: str | None  # the counter's credit code
    staff_id: str | None
    first: dt.datetime
    count: int


def record_lookups(session: Session, *, writer: Organization, lookups: Sequence[Lookup]) -> int:
    """Write one entry per lookup, in its certificate's holder's log, and queue their leaves, in the caller's
    transaction; returns how many were written. Who the public caller was is not recorded (no address): a person
    checking a certificate they were shown is not put on a permanent ledger; a counter is named, as in its
    intakes. One bulk insert (``ledger.storage.bulk``: a multi-row INSERT cost ~80 µs an entry, the driver parsing its
    thousands of placeholders; the ORM's unit of work ~1 ms)."""
    conn = session.connection()
    holders = values_by_key(conn, Certificate.__table__, sorted({lk.identifier for lk in lookups}), value="holder_key")
    rows = []
    for lk in (lk for lk in lookups if lk.identifier in holders):
        at = lk.first.replace(microsecond=lk.first.microsecond // 1000 * 1000)
        record = {
            "format": LOOKUP_FORMAT, "lookup_id": uuid.uuid4().hex, "who": "counter" if lk.counter else "public",
            "counter": lk.counter, "staff_id": lk.staff_id, "holder_key": holders[lk.identifier].hex(),
            "certificates": [lk.identifier], "shown": "masked", "lookups": lk.count,
            "time": at.isoformat(timespec="milliseconds"), "salt": new_salt(),
        }
        data = record_bytes(record)
        rows.append({"intake_id": record["lookup_id"], "staff_id": lk.staff_id,  # no counter_org_id: that is an intake
                     "holder_key": holders[lk.identifier], "certificates": [lk.identifier], "created_at": at,
                     "record": data.decode(), "salt": record["salt"], "leaf": record_leaf(data)})
    if not rows:
        return 0
    table = AccessLogEntry.__table__
    bulk_insert(conn, table, rows)
    ids = values_by_key(conn, table, [row["intake_id"] for row in rows], key="intake_id")
    enqueue_leaves(conn, KIND, [(writer.id, row["leaf"], ids[row["intake_id"]]) for row in rows])
    return len(rows)


def anchor_status(batch: Batch | None) -> str:
    return "queued" if batch is None else batch.status


def _views(session: Session, rows: Sequence[tuple[AccessLogEntry, Batch | None]]) -> list[dict[str, Any]]:
    """What a holder reads of entries: the anchored record, with names looked up for display."""
    records = [json.loads(entry.record) for entry, _ in rows]
    idents = {i for r in records for i in r["certificates"]}
    cert_names = dict(session.execute(
        select(Certificate.identifier, CertificateType.name)
        .join(CertificateType, CertificateType.code == Certificate.type_code)
        .where(Certificate.identifier.in_(idents))).all()) if idents else {}
    intakes = [r for r in records if r["format"] == ACCESS_FORMAT]
    counters = dict(session.execute(select(Organization.uscc, Organization.name).where(
        Organization.uscc.in_({r["counter"] for r in records if r.get("counter")}))).all())
    items = dict(session.execute(select(ServiceItem.code, ServiceItem.name)
                                 .where(ServiceItem.code.in_({r["service_item_code"] for r in intakes}))).all())
    staff = {(uscc, sid): name for uscc, sid, name in session.execute(  # named accounts: their keys name them
        select(Organization.uscc, ApiKey.staff_id, ApiKey.staff_name).join(Organization, Organization.id == ApiKey.org_id)
        .where(ApiKey.staff_id.in_({r["staff_id"] for r in records if r.get("staff_id")})).order_by(ApiKey.id))}

    def view(entry: AccessLogEntry, batch: Batch | None, r: dict[str, Any]) -> dict[str, Any]:
        common = {"id": entry.id, "time": r["time"], "anchor_status": anchor_status(batch),
                  "certificates": [{"identifier": i, "name": cert_names.get(i)} for i in r["certificates"]]}
        if r["format"] == SHARE_OPENING_FORMAT:
            return {**common, "kind": "share_opening", "intake_id": r["opening_id"], "share_link": r["share_link"],
                    "fields": r["fields"], "counter": None, "staff_id": None, "staff_name": None,
                    "service_item": None, "case_number": None}
        if r["format"] == LOOKUP_FORMAT:
            counter = r["counter"] and {"uscc": r["counter"], "name": counters.get(r["counter"])}
            return {**common, "kind": "lookup", "intake_id": r["lookup_id"], "share_link": None, "fields": None,
                    "counter": counter, "staff_id": r["staff_id"], "staff_name": staff.get((r["counter"], r["staff_id"])),
                    "service_item": None, "case_number": None, "lookups": r["lookups"]}
        return {**common, "kind": "intake", "intake_id": r["intake_id"], "share_link": None, "fields": None,
                "counter": {"uscc": r["counter"], "name": counters.get(r["counter"])}, "staff_id": r["staff_id"],
                "staff_name": staff.get((r["counter"], r["staff_id"])),
                "service_item": {"code": r["service_item_code"], "name": items.get(r["service_item_code"])},
                "case_number": r["case_number"]}

    return [view(entry, batch, r) for (entry, batch), r in zip(rows, records, strict=True)]


def _entries(holder_key: bytes) -> Any:
    return (select(AccessLogEntry, Batch).outerjoin(Batch, Batch.id == AccessLogEntry.batch_id)
            .where(AccessLogEntry.holder_key == holder_key))


def holder_entries(
    lib: Library, holder_key: bytes, *, identifier: str | None = None, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """The holder's entries, newest first; only those that used ``identifier`` when given."""
    q = _entries(holder_key).order_by(AccessLogEntry.id.desc())
    if before is not None:
        q = q.where(AccessLogEntry.id < before)
    with lib.sessions() as session:
        if identifier is None:
            rows = session.execute(q.limit(limit)).all()
        else:  # certificates is a JSON list: filtered here, the same way on SQLite and PostgreSQL
            rows = [row for row in session.execute(q) if identifier in row.AccessLogEntry.certificates][:limit]
        return _views(session, [(r.AccessLogEntry, r.Batch) for r in rows])


def _entry(session: Session, holder_key: bytes, entry_id: int) -> tuple[AccessLogEntry, Batch | None]:
    row = session.execute(_entries(holder_key).where(AccessLogEntry.id == entry_id)).one_or_none()
    if row is None:
        raise NotFound("access_log_entry_not_found", f"you have no access-log entry {entry_id}")
    return row.AccessLogEntry, row.Batch


def holder_entry(lib: Library, holder_key: bytes, entry_id: int) -> dict[str, Any]:
    with lib.sessions() as session:
        return _views(session, [_entry(session, holder_key, entry_id)])[0]


def check_anchor(lib: Library, holder_key: bytes, entry_id: int) -> dict[str, Any]:
    """Whether the holder's entry is anchored as stored: record -> leaf -> proof -> root on chain, anchored by the
    platform's audit writer (the verifier's fragments for an unsealed record, ``ledger.verify.fragments``)."""
    with lib.sessions() as session:
        entry, batch = _entry(session, holder_key, entry_id)
        writer = audit_writer(session)
    record = json.loads(entry.record)
    out: dict[str, Any] = {"entry_id": entry.id, "anchor_status": anchor_status(batch), "record": record,
                           "leaf": "0x" + entry.leaf.hex(), "root": None, "proof": [], "chain": None}
    if batch is None or batch.status != "anchored" or entry.proof is None:
        integrity = (Check("record_integrity", Status.VALID, "leaf_matches") if record_leaf(record) == entry.leaf else
                     Check("record_integrity", Status.INVALID, "leaf_mismatch", "the record does not hash to its leaf"))
        waiting = Check("anchor_on_chain", Status.SKIPPED, "not_yet_anchored",
                        "the entry is queued for anchoring (within seconds); check again shortly")
        return {**out, "verdict": verdict([integrity, waiting], ()).value,
                "checks": [integrity.to_dict(), waiting.to_dict()]}
    verifier = service_verifier(lib)
    proof = split_proof(entry.proof)
    chain = {"chain_id": verifier.chain.chain_id(), "contract": verifier.chain.contract.address,
             "tx_hash": batch.tx_hash and "0x" + batch.tx_hash.hex(), "block_number": batch.block_number,
             "anchored_at": batch.block_time and as_utc(batch.block_time).isoformat()}
    result = verifier.verify_parts({"identifier": f"access-log/{entry.id}", "record": record, "chain": chain},
                                   b"", entry.leaf, batch.root, proof, anchorer=writer.chain_address)
    return {
        **out, "verdict": result.verdict.value, "checks": [c.to_dict() for c in result.checks],
        "root": "0x" + batch.root.hex(), "proof": ["0x" + p.hex() for p in proof], "chain": chain,
    }
