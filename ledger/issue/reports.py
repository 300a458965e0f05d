"""Report summaries: associations submit them in batches; they are sealed, anchored, searched and verified.

An association (an organization of kind ``association``, activated with a seal and a chain account by
``ledger.app.onboarding.create_organization``) submits summaries of the reports it or its members issue:
name, number, kind, issuing body, subject, date, conclusion, catalogue entries and the SHA-256 of the
report document, optionally the document itself. Each summary becomes a record of format
``certledger/report/1`` (``ledger.core.record.REPORT_KIND``: RFC 8785 JSON with a random salt) sealed with
the association's seal; its leaf is queued for anchoring (outbox kind ``report``), and the anchoring
worker anchors it from the association's account as ``BatchKind.REPORT_SUMMARIES``, which the contract
allows only an association. Documents are encrypted into IPFS exactly as certificates' documents are.

A batch is validated whole before anything is written, and stored in ONE transaction with its outbox
rows: all of it or nothing. The identifier a user quotes is ``RS.<association credit code>.<number>``;
numbers are unique per association. Verification is the certificates' verifier (named fragments),
which reads the record's format to know that an association seals and anchors it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger.app.library import Library
from ledger.core.errors import (
    BadInput,
    CertledgerError,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
)
from ledger.core.record import (
    REPORT_FORMAT,
    file_reference,
    new_salt,
    record_bytes,
    record_leaf,
)
from ledger.core.statuses import CHINA_TIME
from ledger.core.uscc import validate_uscc
from ledger.documents.envelope import seal as seal_document
from ledger.documents.envelope import unseal
from ledger.issue.issuance import MAX_DOCUMENT_BYTES
from ledger.storage import seals as seals_store
from ledger.storage.engine import writing
from ledger.storage.models import (
    REPORT_SUMMARIES,
    Batch,
    Organization,
    ReportSummary,
    dump_json,
    utcnow,
)
from ledger.storage.outbox import insert_anchored
from ledger.verify.fragments import VerificationResult
from ledger.verify.service import service_verifier
from ledger.verify.stored import is_anchored, item_bundle, stored_bundle

log = logging.getLogger(__name__)

PREFIX = "RS"
MAX_REPORTS = 10_000
MAX_CATALOGUE_ENTRIES = 1000
ANCHOR_KIND = "report"
# Report numbers as printed (e.g. 湘建检〔2026〕第0001号): letters, digits, CJK and bracket punctuation;
# no spaces, slashes or URL delimiters, so the identifier can stand in a URL path as it is.
NUMBER = re.compile(r"[0-9A-Za-z\u3400-\u9fff\-_.()（）〔〕\[\]【】]{1,64}")
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
TEXT_FIELDS = {"name": 200, "kind": 50, "issuing_body": 200, "subject": 200, "conclusion": 4000}
FIELDS = frozenset({*TEXT_FIELDS, "number", "report_date", "catalogue", "document_sha256", "document",
                    "document_media_type"})
_CHUNK = 5_000


@dataclass(frozen=True)
class SubmittedReport:
    id: int
    identifier: str
    number: str
    leaf: bytes
    document_cid: str | None
    document_sha256: str


@dataclass
class _Item:
    index: int
    fields: dict[str, Any]
    document: bytes | None
    media_type: str
    identifier: str = ""
    record: dict[str, Any] = field(default_factory=dict)


def identifier_of(association_uscc: str, number: str) -> str:
    return f"{PREFIX}.{association_uscc}.{number}"


def parse_identifier(text: Any) -> str:
    """A report identifier, checked (``RS.`` + a valid credit code + ``.`` + a report number)."""
    if not isinstance(text, str) or not text.startswith(PREFIX + ".") or len(text) < len(PREFIX) + 21:
        raise BadInput("report_identifier_invalid", f"{text!r:.120} is not a report identifier: "
                       f"{PREFIX}.<association credit code>.<report number>")
    uscc, sep, number = text[len(PREFIX) + 1:].partition(".")
    if not sep or not NUMBER.fullmatch(number):
        raise BadInput("report_identifier_invalid", f"{text!r:.120} is not a report identifier: "
                       f"{PREFIX}.<association credit code>.<report number>")
    try:
        validate_uscc(uscc)
    except BadInput as e:
        raise BadInput("report_identifier_invalid", f"{text!r:.120}: {e.message}") from None
    return text


# ---------------------------------------------------------------------- validation


def _at(index: int, many: bool, e: CertledgerError) -> CertledgerError:
    if not many:
        return e
    return type(e)(e.code, f"reports[{index}]: {e.message}", **{**e.details, "index": index})


def _text(r: dict[str, Any], key: str, limit: int) -> str:
    value = r.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadInput("report_field_missing", f"{key} is required: a non-empty text", field=key)
    value = value.strip()
    if len(value) > limit:
        raise BadInput("report_field_too_long", f"{key} has {len(value)} characters; at most {limit}", field=key)
    return value


def _date(value: Any) -> str:
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise BadInput("report_date_invalid", f"report_date {value!r:.40} must be a date as YYYY-MM-DD",
                       field="report_date")
    if day > dt.datetime.now(CHINA_TIME).date():
        raise BadInput("report_date_invalid", f"report_date {day} is in the future; give the date the report "
                       "was issued", field="report_date")
    return day.isoformat()


def _catalogue(value: Any) -> list[Any]:
    """Catalogue entries (目录): texts, or flat objects of texts and integers (e.g. section, title, page)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CATALOGUE_ENTRIES:
        raise BadInput("report_catalogue_invalid", f"catalogue must be a list of at most {MAX_CATALOGUE_ENTRIES} "
                       "entries", field="catalogue")
    for i, entry in enumerate(value):
        values = entry.values() if isinstance(entry, dict) else [entry]
        keys_ok = all(isinstance(k, str) and 0 < len(k) <= 50 for k in entry) if isinstance(entry, dict) else True
        if not (isinstance(entry, (str, dict)) and entry and keys_ok and all(
                (isinstance(v, str) and len(v) <= 500) or (type(v) is int and abs(v) < 2**53) for v in values)):
            raise BadInput("report_catalogue_invalid", f"catalogue[{i}] must be a text of at most 500 characters "
                           "or an object of texts and integers", field=f"catalogue[{i}]")
    return value


def _document(r: dict[str, Any]) -> tuple[bytes | None, str]:
    value = r.get("document")
    digest = r.get("document_sha256")
    if digest is not None and (not isinstance(digest, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", digest)):
        raise BadInput("document_sha256_invalid", "document_sha256 must be the document's SHA-256 as 64 hex digits",
                       field="document_sha256")
    if value is None:
        if digest is None:
            raise BadInput("document_sha256_missing", "give document_sha256 (the report document's SHA-256), "
                           "the document itself (base64), or both", field="document_sha256")
        return None, digest.lower()
    if not isinstance(value, str):
        raise BadInput("document_invalid", "document must be the report document in base64", field="document")
    if len(value) > MAX_DOCUMENT_BYTES * 4 // 3 + 4:
        raise TooLarge("upload_too_large", f"a report document is at most {MAX_DOCUMENT_BYTES // 2**20} MB")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("document_invalid", "document must be the report document in base64", field="document") from None
    if not data:
        raise BadInput("document_invalid", "the document is empty", field="document")
    actual = hashlib.sha256(data).hexdigest()
    if digest is not None and digest.lower() != actual:
        raise BadInput("document_digest_mismatch", f"document_sha256 is {digest.lower()} but the document's SHA-256 "
                       f"is {actual}: send the document the digest was computed from", field="document_sha256")
    return data, actual


def _validate_one(r: Any) -> _Item:
    if not isinstance(r, dict):
        raise BadInput("report_invalid", "each report summary is a JSON object")
    unknown = sorted(set(r) - FIELDS)
    if unknown:
        raise BadInput("report_field_unknown", f"unknown fields {unknown}; a report summary has {sorted(FIELDS)}",
                       fields=unknown)
    fields = {key: _text(r, key, limit) for key, limit in TEXT_FIELDS.items()}
    number = r.get("number")
    if not isinstance(number, str) or not NUMBER.fullmatch(number):
        raise BadInput("report_number_invalid", f"number {number!r:.80} must be 1-64 letters, digits, Chinese "
                       "characters or - _ . ( ) （ ） 〔 〕 [ ] 【 】 (no spaces or slashes)", field="number")
    fields["number"] = number
    fields["report_date"] = _date(r.get("report_date"))
    fields["catalogue"] = _catalogue(r.get("catalogue"))
    document, fields["document_sha256"] = _document(r)
    media_type = r.get("document_media_type") or "application/pdf"
    if not isinstance(media_type, str) or not MEDIA_TYPE.fullmatch(media_type):
        raise BadInput("document_media_type_invalid", f"document_media_type {media_type!r:.60} is not a media type "
                       "such as application/pdf", field="document_media_type")
    return _Item(0, fields, document, media_type)


def _validate(reports: list[Any]) -> list[_Item]:
    many = len(reports) > 1
    items: list[_Item] = []
    seen: set[str] = set()
    for i, r in enumerate(reports):
        try:
            item = _validate_one(r)
            if item.fields["number"] in seen:
                raise Conflict("report_duplicate", f"report number {item.fields['number']} appears twice in this "
                               "batch", number=item.fields["number"])
        except CertledgerError as e:
            raise _at(i, many, e) from None
        seen.add(item.fields["number"])
        item.index = i
        items.append(item)
    return items


def _refuse_existing(lib: Library, org: Organization, items: list[_Item]) -> None:
    numbers = [it.fields["number"] for it in items]
    c = REPORT_SUMMARIES.c
    with lib.sessions() as session:
        for start in range(0, len(numbers), _CHUNK):
            found = session.scalar(select(c.number).where(
                c.association_org_id == org.id, c.number.in_(numbers[start:start + _CHUNK])).limit(1))
            if found is not None:
                raise Conflict("report_duplicate", f"{org.name} already submitted report number {found}; "
                               "report numbers are unique per association", number=found)


# ---------------------------------------------------------------------- submission


def _record(it: _Item, org: Organization) -> dict[str, Any]:
    f = it.fields
    return {
        "format": REPORT_FORMAT, "identifier": it.identifier, "association": org.name, "association_code": org.uscc,
        "name": f["name"], "number": f["number"], "kind": f["kind"], "issuing_body": f["issuing_body"],
        "subject": f["subject"], "report_date": f["report_date"], "conclusion": f["conclusion"],
        "catalogue": f["catalogue"], "document_sha256": f["document_sha256"], "file": None, "salt": new_salt(),
    }


def _store_documents(lib: Library, items: list[_Item]) -> dict[int, tuple[str, bytes]]:
    """Encrypt the given documents into IPFS: item index -> (CID, wrapped key info); sets each record's file."""
    with_doc = [(it, it.document) for it in items if it.document is not None]
    if not with_doc:
        return {}
    sealed = [seal_document(doc, lib.keyring.active, it.identifier) for it, doc in with_doc]
    cids = lib.ipfs.put_many([s.envelope for s in sealed])
    out = {}
    for (it, doc), s, cid in zip(with_doc, sealed, cids, strict=True):
        it.record["file"] = file_reference(str(cid), it.fields["document_sha256"], len(doc), encrypted=True,
                                           media_type=it.media_type)
        out[it.index] = (str(cid), dump_json(s.key_info).encode())
    return out


def submit_batch(lib: Library, org: Organization, reports: list[Any]) -> list[SubmittedReport]:
    """Seal, store and queue for anchoring a batch of the association's report summaries: all or none."""
    if org.kind != "association":
        raise Forbidden("organization_not_association", f"{org.name} is a {org.kind}; only an association submits "
                        "report summaries", org_id=org.id)
    if not org.chain_address:
        raise Forbidden("organization_not_activated", f"{org.name} has no seal and chain account yet: the platform "
                        "admin activates it", org_id=org.id)
    if not isinstance(reports, list) or not reports:
        raise BadInput("reports_empty", "send at least one report summary")
    if len(reports) > MAX_REPORTS:
        raise TooLarge("too_many_reports", f"at most {MAX_REPORTS} report summaries per batch; split it")
    items = _validate(reports)
    _refuse_existing(lib, org, items)
    sealer = lib.sealer(org.id)
    for it in items:
        it.identifier = identifier_of(org.uscc, it.fields["number"])
        it.record = _record(it, org)
    documents = _store_documents(lib, items)
    canon = [record_bytes(it.record) for it in items]
    seals = sealer.seal_records(canon, canonical=True)
    now = utcnow()
    rows = []
    for it, data, seal in zip(items, canon, seals, strict=True):
        f = it.fields
        cid, key_info = documents.get(it.index, (None, None))
        rows.append({
            "identifier": it.identifier, "association_org_id": org.id, "name": f["name"], "number": f["number"],
            "kind": f["kind"], "issuing_body": f["issuing_body"], "subject": f["subject"],
            "report_date": dt.date.fromisoformat(f["report_date"]), "conclusion": f["conclusion"],
            "catalogue": f["catalogue"], "document_digest": bytes.fromhex(f["document_sha256"]),
            "document_cid": cid, "document_key": key_info, "record": data.decode(), "salt": it.record["salt"],
            "record_seal": seal, "status": "01", "leaf": record_leaf(data), "batch_id": None, "leaf_index": None,
            "proof": None, "created_at": now,
        })
    seal_fp = seals_store.fingerprint(sealer.certificate.der)
    try:
        with writing(lib.engine) as conn:
            ids = dict(zip((r["identifier"] for r in rows),
                           insert_anchored(conn, ANCHOR_KIND, rows, org_key="association_org_id", seal=seal_fp),
                           strict=True))
            seals_store.require_current_seal(conn, org.id, seal_fp)
    except IntegrityError as e:
        raise Conflict("report_duplicate", "one of these report numbers was submitted meanwhile; nothing was stored "
                       f"({str(e.orig).splitlines()[0]})") from e
    log.info("report summaries submitted", extra={"org_id": org.id, "count": len(rows), "documents": len(documents)})
    return [SubmittedReport(ids[r["identifier"]], r["identifier"], r["number"], r["leaf"], r["document_cid"],
                            r["document_digest"].hex()) for r in rows]


# ---------------------------------------------------------------------- reading


def _with_batch() -> Any:
    """Report summaries with their batch (None while queued)."""
    return select(ReportSummary, Batch).outerjoin(Batch, ReportSummary.batch_id == Batch.id)


def get_report(lib: Library, identifier: str) -> tuple[ReportSummary, Batch | None]:
    """A report summary and its batch (None while queued); NotFound ``report_not_found``."""
    ident = parse_identifier(identifier)
    with lib.sessions() as session:
        row = session.execute(_with_batch().where(ReportSummary.identifier == ident)).first()
    if row is None:
        raise NotFound("report_not_found", f"no report summary has the identifier {ident}", identifier=ident)
    return row[0], row[1]


def search(
    lib: Library,
    *,
    association_id: int | None = None,
    number: str | None = None,
    name: str | None = None,
    kind: str | None = None,
    issuing_body: str | None = None,
    subject: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[tuple[ReportSummary, Batch | None]], int | None]:
    """A page of report summaries, newest first: ``number`` and ``kind`` match exactly, ``name``,
    ``issuing_body`` and ``subject`` as keywords (case-insensitive), dates inclusively.
    Returns (page, cursor of the next page: pass it as ``after``)."""
    if not 1 <= limit <= 1000:
        raise BadInput("limit_invalid", "limit must be from 1 to 1000")
    if date_from and date_to and date_from > date_to:
        raise BadInput("date_range_invalid", f"date_from {date_from} is after date_to {date_to}")
    r = ReportSummary
    q = _with_batch()
    if association_id is not None:
        q = q.where(r.association_org_id == association_id)
    if number:
        q = q.where(r.number == number)
    if kind:
        q = q.where(r.kind == kind)
    for column, keyword in ((r.name, name), (r.issuing_body, issuing_body), (r.subject, subject)):
        if keyword:
            q = q.where(column.icontains(keyword, autoescape=True))
    if date_from:
        q = q.where(r.report_date >= date_from)
    if date_to:
        q = q.where(r.report_date <= date_to)
    if after is not None:
        q = q.where(r.id < after)
    with lib.sessions() as session:
        page = [(row[0], row[1]) for row in session.execute(q.order_by(r.id.desc()).limit(limit + 1))]
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1][0].id if more else None)


def fetch_document(lib: Library, identifier: str) -> tuple[bytes, str]:
    """The report's document, read from IPFS, decrypted and checked against its digest; and its media type."""
    report, _ = get_report(lib, identifier)
    if report.document_cid is None or report.document_key is None:
        raise NotFound("document_not_found", f"report {report.identifier} was submitted with its digest only, "
                       "without the document")
    data = unseal(lib.ipfs.get(report.document_cid), json.loads(report.document_key), lib.keyring, report.identifier)
    if hashlib.sha256(data).digest() != report.document_digest:
        raise Conflict("document_tampered", f"the stored document of {report.identifier} does not match its digest")
    return data, json.loads(report.record)["file"]["media_type"]


def export_bundle(lib: Library, identifier: str) -> dict[str, Any]:
    """The proof bundle of an anchored report summary (the certificates' format, docs/proof-bundle.md)."""
    report, batch = get_report(lib, identifier)
    if not is_anchored(report, batch):
        raise Conflict("report_not_anchored", f"report {report.identifier} is stored but its batch is not anchored "
                       "yet; export it after the next anchoring run (certledger anchor --now anchors at once)",
                       identifier=report.identifier)
    return stored_bundle(lib, report, batch)


# ---------------------------------------------------------------------- verification


def _verify(lib: Library, report: ReportSummary, batch: Batch | None, document: bytes | None) -> VerificationResult:
    return service_verifier(lib).verify_bundle(item_bundle(lib, report, batch), document)


def verify(lib: Library, identifier: str, document: bytes | None = None) -> VerificationResult:
    """Every fragment for a stored report summary; ``document`` (the report at hand) is checked when given."""
    return _verify(lib, *get_report(lib, identifier), document)


def verify_document(lib: Library, document: bytes) -> VerificationResult:
    """Verify a report document someone hands in: its summary is found by the document's SHA-256."""
    digest = hashlib.sha256(document).digest()
    with lib.sessions() as session:
        row = session.execute(_with_batch().where(ReportSummary.document_digest == digest)
                              .order_by(ReportSummary.id).limit(1)).first()
    if row is None:
        raise NotFound("report_document_unknown", "no report summary names this document's SHA-256; verify by the "
                       "report identifier instead")
    return _verify(lib, row[0], row[1], document)
