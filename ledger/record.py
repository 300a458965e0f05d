"""The certificate record: what a department seals, what is hashed into a Merkle leaf, what a bundle carries.

A record is a JSON object with the GB/T 36903 common fields (English names, see
``ledger.metadata.COMMON_FIELDS``), the type's own ``fields``, a ``file`` reference when a document
exists, and a random ``salt``. Its digest is SHA-256 over the RFC 8785 canonical bytes; the leaf
anchored on chain is OpenZeppelin's standard leaf of that digest (``["bytes32"]``), so a leaf
reveals nothing about the holder, and the salt stops anyone from confirming a guessed record.

The status is not in the record: it changes over time and lives on chain.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Mapping

from ledger.errors import BadInput
from ledger.merkle import digest_leaf_hash
from signer.canonical import canonical_record

RECORD_FORMAT = "certledger/record/1"
SALT_BYTES = 32

# Keys every record carries; `valid_until`, `service_item` and `file` may be null.
RECORD_KEYS = frozenset({
    "format", "identifier", "name", "number", "version", "type_code",
    "defining_department", "defining_department_code", "issuing_department", "issuing_department_code",
    "issue_date", "valid_from", "valid_until", "jurisdiction_code",
    "holder", "holder_id", "holder_id_type", "service_item", "fields", "file", "salt",
})


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def file_reference(cid: str, sha256_hex: str, size: int, *, encrypted: bool, media_type: str = "application/pdf") -> dict[str, Any]:
    """What a record says about its document: the plaintext digest, and where the (encrypted) bytes live."""
    return {"cid": cid, "sha256": sha256_hex, "size": size, "media_type": media_type, "encrypted": encrypted}


def check_record(record: Mapping[str, Any]) -> None:
    """A record has exactly the v1 keys; anything else is refused rather than silently hashed."""
    if not isinstance(record, Mapping):
        raise BadInput("record_not_object", "a certificate record is a JSON object")
    if record.get("format") != RECORD_FORMAT:
        raise BadInput("record_format_unknown", f"record format {record.get('format')!r} is not {RECORD_FORMAT!r}")
    keys = set(record)
    if keys != RECORD_KEYS:
        missing, extra = sorted(RECORD_KEYS - keys), sorted(keys - RECORD_KEYS)
        raise BadInput("record_keys_invalid", f"record keys differ from {RECORD_FORMAT}: missing {missing}, unexpected {extra}")


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
