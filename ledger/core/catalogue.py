"""The certificate catalogue (证照目录): departments, certificate types and service items.

The reference data (``ledger/data/*.json``) names departments but carries no credit codes, so
each city department gets a stable, valid government-body code derived from its name
(``11`` + the city's division code + a body from the name's SHA-256). A type's code is its
defining department's code plus the type's 3-digit catalogue number, so codes never change when
the data is re-imported or reordered. ``ledger.storage.catalogue`` imports it into the database.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from ledger.core.errors import BadInput
from ledger.core.metadata import FIELD_TYPES
from ledger.core.uscc import derive_uscc

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[1] / "data"
CITY_DIVISION = "430100"  # the demo city's administrative division code
HOLDER_KINDS = frozenset({"natural_person", "legal_entity", "both"})


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


