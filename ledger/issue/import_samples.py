"""Sample exports of a certificate type, as a department's system would write them (``certledger sample-import``).

Columns are the Chinese labels (common metadata, then the type's fields), values valid for the type's schema,
holders with valid citizen ID numbers or credit codes; every ``bad_every``-th row carries one mistake (an
impossible date, a missing holder), so a trial import shows its error report. Rows are made one at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, TextIO

from ledger.core.catalogue import CITY_DIVISION
from ledger.core.metadata import COMMON
from ledger.core.uscc import derive_uscc

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_COMMON = ("number", "holder", "holder_id", "holder_id_type", "issue_date")


def citizen_id(n: int) -> str:
    """A valid GB 11643 citizen ID number, different for each ``n`` below 18,000,000."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=n // 1000 % 18_000)
    body = f"430102{born:%Y%m%d}{n % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def _value(spec: dict[str, Any], n: int) -> Any:
    kind = spec["type"]
    if kind == "date":
        return (dt.date(2015, 1, 1) + dt.timedelta(days=n % 3000)).isoformat()
    if kind == "integer":
        return str(n % 1000 + 1)
    if kind == "decimal":
        return f"{n % 10000}.{n % 100:02d}"
    if kind == "enum":
        return spec["values"][n % len(spec["values"])]
    return f"{spec.get('label') or spec['key']}{n}"


def sample_rows(type_code: str, fields: list[dict[str, Any]], holder_kind: str, rows: int, *, start: int = 0,
                bad_every: int = 0) -> Iterator[dict[str, Any]]:
    """``rows`` records keyed by the Chinese column labels; numbers ``<type seq>-<n>`` from ``start``."""
    for n in range(start, start + rows):
        if holder_kind == "legal_entity":
            holder, holder_id, id_type = f"示例企业{n}有限公司", derive_uscc(f"sample:{n}", division=CITY_DIVISION), "001"
        else:
            holder, holder_id, id_type = f"示例持证人{n}", citizen_id(n), "111"
        row = {COMMON["number"].label: f"{type_code[-3:]}-{n:09d}", COMMON["holder"].label: holder,
               COMMON["holder_id"].label: holder_id, COMMON["holder_id_type"].label: id_type,
               COMMON["issue_date"].label: (dt.date(2026, 1, 1) + dt.timedelta(days=n % 300)).isoformat()}
        for spec in fields:
            row[spec.get("label") or spec["key"]] = _value(spec, n)
        if bad_every and n % bad_every == bad_every - 1:
            date = n // bad_every % 2 == 0  # mistakes alternate: an impossible date, a missing holder
            row[COMMON["issue_date" if date else "holder"].label] = "2023-02-30" if date else ""
        yield row


def headers(fields: list[dict[str, Any]]) -> list[str]:
    """The sample's column headers, in order."""
    return [COMMON[k].label for k in _COMMON] + [spec.get("label") or spec["key"] for spec in fields]


def write_sample(out: TextIO, fmt: str, rows: Iterator[dict[str, Any]], columns: list[str]) -> None:
    """Write the rows as CSV (header row) or JSON Lines, one at a time."""
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
