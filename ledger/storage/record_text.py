"""How a certificate's record is stored: its canonical JSON with each key of the record format (and the format
itself) written as one control character, about 290 of its ~1,020 bytes (issue 12, "Bytes"; migration 0020).

Canonical JSON never holds a raw control character (strings escape them, ``\\u0001``), so reading back is exact:
each such character stands for its text again, and a record stored before, without any, reads as it was. Reads
through SQLAlchemy get the record back (:class:`RecordText`); a bare driver read (``ledger.storage.driver_reads``)
calls :func:`unpack_record`. The table is append-only: what a stored record means depends on each character.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

_KEYS = ("format", "identifier", "name", "number", "version", "type_code", "defining_department",
         "defining_department_code", "issuing_department", "issuing_department_code", "issue_date", "valid_from",
         "valid_until", "jurisdiction_code", "holder", "holder_id", "holder_id_type", "service_item", "fields", "file",
         "salt", "cid", "sha256", "size", "media_type", "encrypted")
_TEXTS = ('"format":"certledger/record/1"', *(f'"{k}":' for k in _KEYS))
_CHARS = [chr(c) for c in range(1, 32) if chr(c) not in "\t\n\r"]  # tab and line ends stay what they are
_PACK = dict(zip(_TEXTS, _CHARS[:len(_TEXTS)], strict=True))
_UNPACK = {c: t for t, c in _PACK.items()}
_TEXT = re.compile("|".join(map(re.escape, sorted(_TEXTS, key=len, reverse=True))))  # the longest first
_CHAR = re.compile(f"[{''.join(map(re.escape, _UNPACK))}]")
# in UTF-8 a control character is one byte that no other character's bytes hold: replaced as bytes, one C-level
# pass per key, reading a record costs half what a pattern's callback per key did (a list page unpacks a hundred)
_UNPACK_BYTES = [(c.encode(), t.encode()) for c, t in _UNPACK.items()]


def pack_record(record: str) -> str:
    """The stored form of a record's canonical JSON; ValueError if it holds a raw control character (it would
    not read back as it was: canonical JSON has none)."""
    if _CHAR.search(record):
        raise ValueError("a record to store holds a raw control character: it is not canonical JSON")
    return _TEXT.sub(lambda m: _PACK[m.group()], record)


def unpack_record(stored: str) -> str:
    """The record's canonical JSON from its stored form (a record stored as plain JSON reads as it is)."""
    data = stored.encode()
    for char, key in _UNPACK_BYTES:
        data = data.replace(char, key)
    return data.decode()


class RecordText(TypeDecorator[str]):
    """A certificate record column: packed when written, unpacked when read."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else pack_record(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unpack_record(value)
