"""Issuing certificates: validate, identify, record, seal, store the document, queue the leaf.

Everything is checked before anything is written; the certificates of one call and their outbox
rows are then inserted in ONE transaction, so a call stores all of its certificates or none.
Serials are reserved first in a short transaction of their own (so rendering documents never holds
the serial counter's lock); a call that fails after that leaves a gap in the serials, never a
certificate. Documents go to IPFS before the database commit, so a stored record never points at
a missing document (a failed call can leave an unreferenced, encrypted blob behind).

Work is batched per call: one query per kind of lookup, one serial block per (type, year), one
``Sealer.seal_records`` per call, one ``put_many`` for the documents, one bulk insert.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pyhanko.sign.general import SigningError
from sqlalchemy import Connection, Integer, Row, Select, bindparam, select

from ledger.app.library import Library
from ledger.core.catalogue import CITY_DIVISION, valid_until
from ledger.core.errors import (
    BadInput,
    CertledgerError,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
)
from ledger.core.identifiers import (
    Identifier,
    make_identifier,
    mod37_36,
    parse_identifier,
    validate_type_code,
)
from ledger.core.metadata import holder_key, validate_metadata
from ledger.core.record import (
    RECORD_FORMAT,
    file_reference,
    new_salt,
    record_bytes,
    record_leaf,
)
from ledger.core.uscc import validate_uscc
from ledger.documents.envelope import seal as seal_document
from ledger.documents.envelope import unseal
from ledger.documents.rendering import Job, make_pdfs
from ledger.storage import seals as seals_store
from ledger.storage import status_indices
from ledger.storage.certificate_anchors import ANCHORS
from ledger.storage.engine import writing
from ledger.storage.models import (
    BATCHES,
    CERTIFICATES,
    Certificate,
    CertificateType,
    Organization,
    ServiceItem,
    dump_json,
)
from ledger.storage.outbox import insert_certificates
from ledger.storage.serials import allocate_serials
from signer.compact_seal import seal_compact

log = logging.getLogger(__name__)

MAX_REQUESTS = 10_000
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
DOCUMENT_MODES = ("render", "none")
_CHUNK = 5_000


@dataclass(frozen=True)
class IssuedCertificate:
    id: int
    identifier: str
    type_code: str
    number: str
    version: int
    status: str
    leaf: bytes
    document_cid: str | None
    document_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "identifier": self.identifier, "type_code": self.type_code, "number": self.number,
            "version": self.version, "status": self.status, "leaf": "0x" + self.leaf.hex(),
            "document": None if self.document_cid is None else {"cid": self.document_cid, "sha256": self.document_sha256},
            "anchoring": "queued",
        }


@dataclass
class _Item:
    index: int
    meta: dict[str, Any]
    ctype: CertificateType
    document: str | bytes  # "render", "none" or a supplied PDF
    record: dict[str, Any] | None = None
    pdf: bytes | None = None
    previous: Any = None  # the certificate version this one supersedes (renewal, amendment)

    @property
    def version(self) -> int:
        return 1 if self.previous is None else self.previous.version + 1


def _at(index: int, many: bool, e: CertledgerError) -> CertledgerError:
    """The same error, saying which request of a batch it is about."""
    if not many:
        return e
    return type(e)(e.code, f"requests[{index}]: {e.message}", **e.details, index=index)


def _document_of(value: Any) -> str | bytes:
    if value is None or value in DOCUMENT_MODES:
        return value or "render"
    if not isinstance(value, str):
        raise BadInput("document_invalid", 'document must be "render", "none" or a base64-encoded PDF')
    if len(value) > MAX_DOCUMENT_BYTES * 4 // 3 + 4:
        raise TooLarge("upload_too_large", f"the document exceeds {MAX_DOCUMENT_BYTES // 2**20} MB")
    try:
        pdf = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("document_invalid", 'document must be "render", "none" or a base64-encoded PDF') from None
    if not pdf.startswith(b"%PDF-"):
        raise BadInput("pdf_not_pdf", "the supplied document is not a PDF (it does not start with %PDF-)")
    return pdf


def check_issuable(org: Organization, ctype: CertificateType | None, type_code: str) -> CertificateType:
    """The type, if it exists, is active and ``org`` defines it (only a type's own department issues it)."""
    if ctype is None or not ctype.active:
        raise BadInput("type_code_unknown", f"no certificate type has code {type_code}; "
                       "GET the catalogue for valid codes", type_code=type_code)
    if ctype.department_id != org.id:
        raise Forbidden("type_not_issuable", f"{org.name} does not issue {ctype.name} ({ctype.code}); "
                        "only its defining department does", type_code=ctype.code)
    return ctype


def check_request(ctype: CertificateType, request: dict[str, Any], known_items: set[str]) -> dict[str, Any]:
    """One request's metadata checked and completed (validity end from the type's rule): what issuance stores,
    shared by every way in (API, batch, import) so that all of them accept and refuse the same."""
    meta = validate_metadata(request, ctype.fields, ctype.holder_kind)
    if meta.get("service_item") and meta["service_item"] not in known_items:
        raise BadInput("service_item_unknown", f"service item {meta['service_item']!r} is not in the catalogue",
                       field="service_item")
    if not meta.get("valid_until"):
        end = valid_until(dt.date.fromisoformat(meta["valid_from"]), ctype.validity_years)
        meta["valid_until"] = end.isoformat() if end else None
    return meta


def _validate(lib: Library, org: Organization, requests: list[dict[str, Any]]) -> list[_Item]:
    many = len(requests) > 1
    with lib.sessions() as session:
        codes = set()
        for i, r in enumerate(requests):
            if not isinstance(r, dict):
                raise _at(i, many, BadInput("request_invalid", "each request is a JSON object"))
            try:
                codes.add(validate_type_code(r.get("type_code")))
            except BadInput as e:
                raise _at(i, many, e) from None
        types = {t.code: t for t in session.execute(select(CertificateType).where(CertificateType.code.in_(codes))).scalars()}
        items_codes = {r["service_item"] for r in requests if r.get("service_item")}
        known_items = set(session.execute(select(ServiceItem.code).where(ServiceItem.code.in_(items_codes))).scalars()) \
            if items_codes else set()
    items: list[_Item] = []
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(requests):
        try:
            ctype = types.get(r["type_code"])
            check_issuable(org, ctype, r["type_code"])
            document = _document_of(r.get("document"))
            meta = check_request(ctype, {k: v for k, v in r.items() if k != "document"}, known_items)
            key = (ctype.code, meta["number"])
            if key in seen:
                raise Conflict("certificate_duplicate", f"number {meta['number']} of type {ctype.code} appears twice "
                               "in this request", number=meta["number"])
            seen.add(key)
        except CertledgerError as e:
            raise _at(i, many, e) from None
        items.append(_Item(i, meta, ctype, document))
    return items


def _refuse_existing(lib: Library, org: Organization, items: list[_Item]) -> None:
    by_type: dict[str, list[str]] = defaultdict(list)
    for it in items:
        if it.previous is None:
            by_type[it.ctype.code].append(it.meta["number"])
    c = CERTIFICATES.c
    with lib.sessions() as session:
        # one type per query: (issuer, type, number IN ...) seeks the unique index, where a row-value IN over
        # (type, number) made SQLite read every certificate of the department, a cost growing with the table
        for code, numbers in by_type.items():
            for start in range(0, len(numbers), _CHUNK):
                q = select(c.type_code, c.number).where(
                    c.issuer_org_id == org.id, c.type_code == code, c.number.in_(numbers[start:start + _CHUNK])
                ).limit(1)
                found = session.execute(q).first()
                if found is not None:
                    raise Conflict("certificate_duplicate", f"{org.name} already issued number {found.number} of "
                                   f"type {found.type_code}; issue a new version through the lifecycle API instead",
                                   type_code=found.type_code, number=found.number)


def _identifiers(lib: Library, org: Organization, items: list[_Item]) -> list[str]:
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    issuer = validate_uscc(org.uscc)
    out = [""] * len(items)
    for n, it in enumerate(items):
        if it.previous is not None:  # a new version keeps its serial
            out[n] = make_identifier(it.ctype.code, issuer, parse_identifier(it.previous.identifier).serial, it.version)
        else:
            groups[(it.ctype.code, int(it.meta["issue_date"][:4]))].append(n)
    with lib.sessions() as session, session.begin():
        conn = session.connection()
        for (code, year), members in sorted(groups.items()):
            for n, serial in zip(members, allocate_serials(conn, code, org.id, year, len(members)), strict=True):
                body = f"{code}{issuer}{serial}001"
                out[n] = str(Identifier(code, issuer, serial, 1, mod37_36(body)))
    return out


def _record(it: _Item, identifier: str, org: Organization, definer: Organization) -> dict[str, Any]:
    m = it.meta
    return {
        "format": RECORD_FORMAT, "identifier": identifier, "name": it.ctype.name, "number": m["number"],
        "version": it.version,
        "type_code": it.ctype.code, "defining_department": definer.name, "defining_department_code": definer.uscc,
        "issuing_department": org.name, "issuing_department_code": org.uscc, "issue_date": m["issue_date"],
        "valid_from": m["valid_from"], "valid_until": m["valid_until"],
        "jurisdiction_code": m.get("jurisdiction_code") or CITY_DIVISION, "holder": m["holder"],
        "holder_id": m["holder_id"], "holder_id_type": m["holder_id_type"], "service_item": m.get("service_item"),
        "fields": m["fields"], "file": None, "salt": new_salt(),
    }


def _render_job(lib: Library, it: _Item) -> Job:
    rec = it.record
    view = {
        "identifier": rec["identifier"], "number": rec["number"], "holder": rec["holder"], "holder_id": rec["holder_id"],
        "issuer_name": rec["issuing_department"], "issued_on": rec["issue_date"], "valid_from": rec["valid_from"],
        "valid_until": rec["valid_until"], "fields": rec["fields"],
    }
    ctype = {"name": it.ctype.name, "fields": it.ctype.fields}
    return Job(None, ctype, view, f"{lib.settings.public_url}/verify/{rec['identifier']}")


def _documents(lib: Library, org: Organization, items: list[_Item]) -> list[tuple[str, bytes, bytes]]:
    """Render or take each PDF, seal it, encrypt it and store it: (cid, sha256, key info) per document item."""
    with_doc = [it for it in items if it.document != "none"]
    if not with_doc:
        return []
    jobs = [_render_job(lib, it) if it.document == "render" else Job(it.document) for it in with_doc]

    def on_error(i: int, exc: BaseException) -> Exception:
        if isinstance(exc, SigningError):
            exc = BadInput("pdf_not_sealable", f"the supplied PDF cannot be sealed ({exc}); send the unsealed document")
        if isinstance(exc, CertledgerError):
            return _at(with_doc[i].index, len(items) > 1, exc)
        return exc

    pdfs = make_pdfs(lib.workers, jobs, lib.seal_key(org.id), on_error)
    envelopes, infos = [], []
    for it, pdf in zip(with_doc, pdfs, strict=True):
        it.pdf = pdf
        sealed = seal_document(pdf, lib.keyring.active, it.record["identifier"])
        envelopes.append(sealed.envelope)
        infos.append(sealed.key_info)
    cids = lib.ipfs.put_many(envelopes)
    out = []
    for it, cid, info in zip(with_doc, cids, infos, strict=True):
        digest = hashlib.sha256(it.pdf).digest()
        it.record["file"] = file_reference(str(cid), digest.hex(), len(it.pdf), encrypted=True)
        out.append((str(cid), digest, dump_json(info).encode()))
    return out


@dataclass(frozen=True)
class Prepared:
    """Certificates checked, sealed and with their documents stored: rows ready for one insert."""

    rows: list[dict[str, Any]]
    org_id: int
    seal: bytes  # fingerprint of the seal certificate the records were sealed with

    def insert(self, conn: Connection) -> list[IssuedCertificate]:
        """Insert the rows and queue their leaves, in the caller's transaction (refused with ``seal_rotated``
        if the department's seal changed since they were sealed)."""
        first = status_indices.allocate(conn, self.org_id, len(self.rows))
        rows = [{**r, "status_index": first + n} for n, r in enumerate(self.rows)]
        ids = insert_certificates(conn, rows, self.seal)
        seals_store.require_current_seal(conn, self.org_id, self.seal)
        return [
            IssuedCertificate(i, r["identifier"], r["type_code"], r["number"], r["version"], "01", r["leaf"],
                              r["document_cid"], r["document_digest"].hex() if r["document_digest"] else None)
            for i, r in zip(ids, self.rows, strict=True)
        ]


def prepare(lib: Library, org: Organization, requests: list[dict[str, Any]],
            previous: list[Any] | None = None) -> Prepared:
    """Everything of issuance but the database insert (API request shape, see the module docstring).

    ``previous[i]``, when given, is the certificate version that request i supersedes (a renewal or an
    amendment, ledger.issue.versions): the new version keeps its serial and number, with the version plus one.
    """
    if not isinstance(requests, list) or not requests:
        raise BadInput("requests_empty", "send at least one certificate request")
    if len(requests) > MAX_REQUESTS:
        raise TooLarge("too_many_requests", f"at most {MAX_REQUESTS} certificates per call; split the batch")
    if org.kind != "department" or not org.chain_address:
        raise Forbidden("organization_cannot_issue", f"{org.name} is not an activated department and cannot issue")
    if not org.active:
        raise Forbidden("organization_deactivated", f"该部门已停用，不能签发 / {org.name} is deactivated and cannot issue")
    items = _validate(lib, org, requests)
    for it, prev in zip(items, previous or [None] * len(items), strict=True):
        it.previous = prev
    _refuse_existing(lib, org, items)
    return _prepare_items(lib, org, items)


def prepare_checked(lib: Library, org: Organization, ctype: CertificateType, metas: list[dict[str, Any]]) -> Prepared:
    """:func:`prepare` for first versions whose requests :func:`check_request` already checked (an import
    checks every row first, to report each bad one), without documents; ``ctype`` passed
    :func:`check_issuable` for ``org``, and the caller looked up which numbers are stored (an import skips them;
    one stored meanwhile makes the insert refuse the call with ``Conflict``)."""
    return _prepare_items(lib, org, [_Item(i, meta, ctype, "none") for i, meta in enumerate(metas)])


def _prepare_items(lib: Library, org: Organization, items: list[_Item]) -> Prepared:
    definers = {it.ctype.department_id for it in items}
    definer = {d: lib.organization(d) for d in definers}
    sealer = lib.sealer(org.id)
    if sealer.algorithm == "sm2" and any(it.document != "none" for it in items):
        raise BadInput("document_needs_p256_seal", "SM2 印章不能签署 PDF，请以 \"document\": \"none\" 签发 / an SM2 seal "
                       "cannot seal a PDF (PAdES needs a P-256 seal): issue with \"document\": \"none\", or rotate to "
                       "a P-256 seal")
    identifiers = _identifiers(lib, org, items)
    for it, ident in zip(items, identifiers, strict=True):
        it.record = _record(it, ident, org, definer[it.ctype.department_id])
    docs = iter(_documents(lib, org, items))
    canon = [record_bytes(it.record) for it in items]
    seals = seal_compact(sealer, canon)
    secret = lib.platform_secret
    rows = []
    for it, data, seal in zip(items, canon, seals, strict=True):
        rec = it.record
        cid, digest, key_info = next(docs) if it.document != "none" else (None, None, None)
        rows.append({
            "identifier": rec["identifier"], "type_code": rec["type_code"], "issuer_org_id": org.id,
            "number": rec["number"], "holder_key": holder_key(secret, rec["holder_id_type"], rec["holder_id"]),
            "issued_on": dt.date.fromisoformat(rec["issue_date"]), "valid_from": dt.date.fromisoformat(rec["valid_from"]),
            "valid_until": dt.date.fromisoformat(rec["valid_until"]) if rec["valid_until"] else None,
            "record": data.decode(), "record_seal": seal,
            "document_cid": cid, "document_digest": digest, "document_key": key_info, "leaf": record_leaf(data),
            "version": it.version, "supersedes_id": it.previous and it.previous.id,
        })
    return Prepared(rows, org.id, seals_store.fingerprint(sealer.certificate.der))


def issue_many(lib: Library, org: Organization, requests: list[dict[str, Any]]) -> list[IssuedCertificate]:
    """Issue certificates for ``org`` (API request shape, see the module docstring); all or none are stored."""
    prepared = prepare(lib, org, requests)
    with writing(lib.engine) as conn:
        issued = prepared.insert(conn)
    log.info("certificates issued", extra={"org_id": org.id, "count": len(issued),
                                           "documents": sum(i.document_cid is not None for i in issued)})
    return issued


def issue_one(lib: Library, org: Organization, request: dict[str, Any]) -> IssuedCertificate:
    return issue_many(lib, org, [request])[0]


def get_certificate(lib: Library, identifier: str) -> Certificate:
    ident = str(parse_identifier(identifier))
    with lib.sessions() as session:
        cert = session.execute(select(Certificate).where(Certificate.identifier == ident)).scalar_one_or_none()
    if cert is None:
        raise NotFound("certificate_not_found", f"no certificate has identifier {ident}", identifier=ident)
    return cert


@functools.cache
def _list_statement(by_type: bool, by_status: bool, after: bool) -> Select[Any]:
    """A page of an organization's certificates, newest first, in one statement (built once per kind of page:
    composing it cost more than running it). The page's rows are found in the (issuer, id) index and read for the
    columns a list shows (not the seal, keys or proof of whole rows); their anchors and batches are joined to
    those rows only, so no plan can sort or join all of a department's rows."""
    c = CERTIFICATES.c
    q = select(c.id, c.identifier, c.type_code, c.number, c.version, c.status, c.issued_on, c.valid_from,
               c.valid_until, c.record, c.document_cid, c.document_digest
               ).where(c.issuer_org_id == bindparam("org_id"))
    if by_type:
        q = q.where(c.type_code == bindparam("type_code"))
    if by_status:
        q = q.where(c.status == bindparam("status"))
    if after:
        q = q.where(c.id < bindparam("after_id"))
    page = q.order_by(c.id.desc()).limit(bindparam("limit", type_=Integer)).subquery("page")
    b = BATCHES.c
    return (select(page, b.id.label("batch_id"), b.status.label("batch_status"), b.root.label("batch_root"),
                   b.tx_hash.label("batch_tx_hash"), b.block_number.label("batch_block_number"),
                   b.block_time.label("batch_block_time"))
            .select_from(page.outerjoin(ANCHORS, ANCHORS.c.certificate_id == page.c.id)
                         .outerjoin(BATCHES, b.id == ANCHORS.c.batch_id)))


def list_query(org_id: int, *, type_code: str | None = None, status: str | None = None, after_id: int | None = None,
               limit: int = 50) -> tuple[Select[Any], dict[str, Any]]:
    """The statement of a page of ``limit`` (and one more, to tell whether another page follows) and its values."""
    params: dict[str, Any] = {"org_id": org_id, "limit": limit + 1}
    if type_code:
        params["type_code"] = validate_type_code(type_code)
    if status:
        params["status"] = status
    if after_id is not None:
        params["after_id"] = after_id
    return _list_statement(bool(type_code), bool(status), after_id is not None), params


def list_certificates(
    lib: Library,
    org_id: int,
    *,
    type_code: str | None = None,
    status: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> tuple[list[Row[Any]], int | None]:
    """A page of the organization's certificates, newest first (rows of ``list_query``'s columns, each with its
    batch's or None); returns (page, cursor of the next page)."""
    if not 1 <= limit <= 1000:
        raise BadInput("limit_invalid", "limit must be from 1 to 1000")
    q, params = list_query(org_id, type_code=type_code, status=status, after_id=after_id, limit=limit)
    with lib.engine.connect() as conn:
        page = sorted(conn.execute(q, params).all(), key=lambda r: r.id, reverse=True)
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1].id if more else None)


def fetch_document(lib: Library, identifier: str) -> bytes:
    """The certificate's sealed PDF, read from IPFS, decrypted and checked against the recorded digest."""
    cert = get_certificate(lib, identifier)
    if cert.document_cid is None:
        raise NotFound("document_not_found", f"certificate {cert.identifier} was issued without a document")
    pdf = unseal(lib.ipfs.get(cert.document_cid), json.loads(cert.document_key), lib.keyring, cert.identifier)
    if hashlib.sha256(pdf).digest() != cert.document_digest:
        raise Conflict("document_tampered", f"the stored document of {cert.identifier} does not match its recorded digest")
    return pdf
