"""The certificate record: what a department seals, what is hashed into a Merkle leaf, what a bundle carries.

A record is a JSON object with the GB/T 36903 common fields (English names, see
``ledger.core.metadata.COMMON_FIELDS``), the type's own ``fields``, a ``file`` reference when a document
exists, and a random ``salt``. Its digest is SHA-256 over the RFC 8785 canonical bytes; the leaf
anchored on chain is OpenZeppelin's standard leaf of that digest (``["bytes32"]``), so a leaf
reveals nothing about the holder, and the salt stops anyone from confirming a guessed record.

The status is not in the record: it changes over time and lives on chain.

Report summaries (``ledger.issue.reports``) are records of another format, sealed by an association and
anchored the same way; access-log entries (``ledger.holders.accesslog``) are records anchored, unsealed, by
the platform's audit writer. :data:`RECORD_KINDS` says what differs per format (keys, who seals and
anchors, whether there is a seal, a status, a validity period), so one verifier serves them all; the platform's
monthly report on the city plan's targets is a fourth, anchored like the access log.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.core.canonical import canonical_record
from ledger.core.errors import BadInput
from ledger.core.merkle import digest_leaf_hash

RECORD_FORMAT = "certledger/record/1"
SALT_BYTES = 32

# Keys every record carries; `valid_until`, `service_item` and `file` may be null.
RECORD_KEYS = frozenset({
    "format", "identifier", "name", "number", "version", "type_code",
    "defining_department", "defining_department_code", "issuing_department", "issuing_department_code",
    "issue_date", "valid_from", "valid_until", "jurisdiction_code",
    "holder", "holder_id", "holder_id_type", "service_item", "fields", "file", "salt",
})


REPORT_FORMAT = "certledger/report/1"
REPORT_KEYS = frozenset({
    "format", "identifier", "association", "association_code", "name", "number", "kind", "issuing_body",
    "subject", "report_date", "conclusion", "catalogue", "document_sha256", "file", "salt",
})


@dataclass(frozen=True)
class RecordKind:
    """What a record format fixes: its keys, which key names the organization that seals and anchors
    it (and of what kind), whether it has a validity period, and what a verifier shows of it."""

    format: str
    keys: frozenset[str]
    issuer_code_key: str | None  # None: anchored by an account the verifier is told (the audit writer)
    anchored_by: str  # organization kind: department | association | audit_writer
    dated: bool
    summary_keys: tuple[str, ...]
    digest_key: str | None = None  # top-level key of the document's SHA-256; None: file.sha256
    sealed: bool = True  # False: no seal, no status on chain, no document (an access-log entry)

    def document_sha256(self, record: Mapping[str, Any]) -> str | None:
        if self.digest_key is not None:
            return record.get(self.digest_key)
        file = record.get("file")
        return file.get("sha256") if isinstance(file, Mapping) else None


CERTIFICATE_KIND = RecordKind(
    RECORD_FORMAT, RECORD_KEYS, "issuing_department_code", "department", True,
    ("identifier", "name", "number", "version", "type_code", "issuing_department", "issuing_department_code",
     "issue_date", "valid_from", "valid_until", "holder", "holder_id_type", "service_item"),
)
REPORT_KIND = RecordKind(
    REPORT_FORMAT, REPORT_KEYS, "association_code", "association", False,
    ("identifier", "name", "number", "kind", "association", "association_code", "issuing_body", "subject",
     "report_date", "conclusion"),
    digest_key="document_sha256",
)
ACCESS_FORMAT = "certledger/access/1"
ACCESS_KEYS = frozenset({
    "format", "intake_id", "counter", "staff_id", "service_item_code", "case_number", "holder_key", "certificates",
    "time", "salt",
})
ACCESS_LOG_KIND = RecordKind(
    ACCESS_FORMAT, ACCESS_KEYS, None, "audit_writer", False,
    ("intake_id", "counter", "service_item_code", "case_number", "time"), sealed=False,
)
PLAN_FORMAT = "certledger/plan-targets/1"
PLAN_KEYS = frozenset({"format", "identifier", "platform", "platform_code", "month", "as_of", "targets", "salt"})
# The city plan's monthly figures (ledger.plan.monthly): anchored, unsealed, by the audit writer as the access log is.
PLAN_KIND = RecordKind(
    PLAN_FORMAT, PLAN_KEYS, None, "audit_writer", False,
    ("identifier", "platform", "platform_code", "month", "as_of", "targets"), sealed=False,
)
SHARE_OPENING_FORMAT = "certledger/access-share/1"  # a share link opened: logged in the holder's access log
SHARE_OPENING_KEYS = frozenset({"format", "opening_id", "share_link", "holder_key", "certificates", "fields", "time",
                                "salt"})
SHARE_OPENING_KIND = RecordKind(
    SHARE_OPENING_FORMAT, SHARE_OPENING_KEYS, None, "audit_writer", False, ("opening_id", "share_link", "time"),
    sealed=False,
)
# A certificate looked up by its bare identifier, the holder shown masked (a counter's verification, the public
# page of its QR code): logged in the holder's access log; ``lookups`` within the few seconds from ``time``.
LOOKUP_FORMAT = "certledger/access-lookup/1"
LOOKUP_KEYS = frozenset({"format", "lookup_id", "who", "counter", "staff_id", "holder_key", "certificates", "shown",
                         "lookups", "time", "salt"})
LOOKUP_KIND = RecordKind(
    LOOKUP_FORMAT, LOOKUP_KEYS, None, "audit_writer", False, ("lookup_id", "who", "counter", "time"), sealed=False,
)
RECORD_KINDS = {k.format: k for k in (CERTIFICATE_KIND, REPORT_KIND, ACCESS_LOG_KIND, PLAN_KIND, SHARE_OPENING_KIND,
                                      LOOKUP_KIND)}


_METADATA_KEYS = ("identifier", "name", "number", "type_code", "defining_department", "defining_department_code",
                  "issuing_department", "issuing_department_code", "issue_date", "valid_from", "valid_until",
                  "jurisdiction_code", "holder", "holder_id", "holder_id_type", "service_item", "fields")


def certificate_metadata(record: Mapping[str, Any]) -> dict[str, Any]:
    """A certificate's GB/T 36903 metadata, read from its sealed record: a row stores the record once, and the
    metadata is a view of it (without the salt; ``file`` is the document's CID; ``status`` as issued)."""
    meta = {k: record[k] for k in _METADATA_KEYS if k in record}
    meta["type_name"] = record.get("name")
    file = record.get("file")
    meta["file"] = file.get("cid") if isinstance(file, Mapping) else file
    meta["status"] = "01"
    return meta


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def file_reference(cid: str, sha256_hex: str, size: int, *, encrypted: bool, media_type: str = "application/pdf") -> dict[str, Any]:
    """What a record says about its document: the plaintext digest, and where the (encrypted) bytes live."""
    return {"cid": cid, "sha256": sha256_hex, "size": size, "media_type": media_type, "encrypted": encrypted}


def check_record(record: Mapping[str, Any]) -> RecordKind:
    """A record has exactly the keys of its format; anything else is refused rather than silently hashed."""
    if not isinstance(record, Mapping):
        raise BadInput("record_not_object", "a certificate record is a JSON object")
    fmt = record.get("format")
    kind = RECORD_KINDS.get(fmt) if isinstance(fmt, str) else None
    if kind is None:
        raise BadInput("record_format_unknown",
                       f"record format {record.get('format')!r} is not one of {sorted(RECORD_KINDS)}")
    keys = set(record)
    if keys != kind.keys:
        missing, extra = sorted(kind.keys - keys), sorted(keys - kind.keys)
        raise BadInput("record_keys_invalid", f"record keys differ from {kind.format}: missing {missing}, unexpected {extra}")
    return kind


def record_bytes(record: Mapping[str, Any]) -> bytes:
    """The canonical bytes that are sealed and hashed."""
    return canonical_record(dict(record))


def record_digest(record: Mapping[str, Any] | bytes) -> bytes:
    """SHA-256 of the canonical record (pass canonical bytes to skip re-canonicalizing)."""
    data = record if isinstance(record, bytes) else record_bytes(record)
    return hashlib.sha256(data).digest()


def record_leaf(record: Mapping[str, Any] | bytes) -> bytes:
    """The Merkle leaf anchored for this record."""
    return digest_leaf_hash(record_digest(record))
