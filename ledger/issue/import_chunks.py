"""One chunk of an import, checked and made ready to store: every row's problems, the rows stored before, and
the new rows issued (identifiers, salts, seals) but not yet inserted.

This is the per-row work of an import, the part that costs CPU; it runs in this process or on the library's
worker processes (``ledger.issue.import_workers``), while the importer inserts the chunks in order. It reads
the database (rows stored before, serials) but writes nothing a failed chunk would leave behind: a chunk
that is never inserted leaves only a gap in the serials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select

from ledger.app.library import Library
from ledger.core.errors import BadInput
from ledger.core.record import certificate_metadata
from ledger.issue.import_files import Columns, RawRow
from ledger.issue.issuance import Prepared, check_request, prepare_checked
from ledger.storage.bulk import one_of
from ledger.storage.models import CERTIFICATES, CertificateType, Organization

_ZH = {
    "field_invalid": "字段值无效", "field_missing": "缺少必填字段", "field_unknown": "未知字段",
    "service_item_unknown": "关联事项编码不存在", "row_not_json": "该行不是 JSON 对象",
    "certificate_conflict": "该编号已以不同内容存入，未覆盖", "type_mismatch": "证照类型与本次导入不符",
    "metadata_invalid": "该行无法读取",
}


@dataclass
class Chunk:
    """What one chunk of rows comes to: the new rows ready to insert, the problems, the rows skipped."""

    read: int
    problems: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    prepared: Prepared | None = None

    def problem(self, row: int, column: str, code: str, english: str) -> None:
        zh = _ZH.get(code, "该行有误")
        message = f"{zh}{f'（{column}）' if column else ''}。 / {english}"
        self.problems.append({"row_number": row, "column_name": column, "code": code, "message": message})

    @property
    def stored(self) -> int:
        return len(self.prepared.rows) if self.prepared else 0

    @property
    def failed(self) -> int:
        return len({p["row_number"] for p in self.problems})


def _same(stored: dict[str, Any], meta: dict[str, Any]) -> bool:
    """A stored certificate carries exactly this row's content (the platform's own additions aside)."""
    return all(stored.get(k) == v for k, v in meta.items())


def _check_rows(ctype: CertificateType, cols: Columns, rows: list[RawRow], known_items: set[str],
                out: Chunk) -> dict[str, tuple[int, dict[str, Any]]]:
    """The chunk's good rows by number (line, checked metadata); problems and repeats go to ``out``."""
    good: dict[str, tuple[int, dict[str, Any]]] = {}
    for row in map(cols.source_row, rows):
        if row.error is not None or row.request is None:
            out.problem(row.line, "", *(row.error or ("metadata_invalid", "the row cannot be read")))
            continue
        request = dict(row.request)
        given = request.pop("type_code", None)
        if given not in (None, ctype.code):
            out.problem(row.line, cols.header_of("type_code"), "type_mismatch",
                        f"type code {given!r} is not {ctype.code}, the type this import is for")
            continue
        request["type_code"] = ctype.code
        try:
            meta = check_request(ctype, request, known_items)
        except BadInput as exc:
            for e in exc.details.get("errors") or [{"code": exc.code, "message": exc.message, **exc.details}]:
                out.problem(row.line, cols.header_of(e.get("field")), e["code"], e["message"])
            continue
        earlier = good.get(meta["number"])
        if earlier is None:
            good[meta["number"]] = (row.line, meta)
        elif _same(earlier[1], meta):
            out.skipped += 1
        else:
            out.problem(row.line, cols.header_of("number"), "certificate_conflict",
                        f"number {meta['number']} appears at row {earlier[0]} with other content")
    return good


def stored_numbers_query(org_id: int, type_code: str, numbers: list[str], dialect: str) -> Select[tuple[str, str]]:
    """The number and record of each first version ``org_id`` stored of the type under one of ``numbers``."""
    c = CERTIFICATES.c
    return select(c.number, c.record).where(c.issuer_org_id == org_id, c.type_code == type_code, c.version == 1,
                                           one_of(c.number, numbers, dialect))


def _stored(lib: Library, org: Organization, type_code: str, numbers: list[str]) -> dict[str, dict[str, Any]]:
    """The metadata stored under these numbers (first versions) by ``org`` for the type."""
    if not numbers:
        return {}
    with lib.engine.connect() as conn:
        q = stored_numbers_query(org.id, type_code, numbers, conn.dialect.name)
        return {number: certificate_metadata(json.loads(record)) for number, record in conn.execute(q)}


def prepare_chunk(lib: Library, org: Organization, ctype: CertificateType, cols: Columns, rows: list[RawRow],
                  known_items: set[str]) -> Chunk:
    """Check every row, sort out those stored before (same content: skipped; other content: a conflict, never
    replaced) and issue the new ones, ready for :meth:`Prepared.insert`."""
    out = Chunk(len(rows))
    good = _check_rows(ctype, cols, rows, known_items, out)
    stored = _stored(lib, org, ctype.code, list(good))
    new = []
    for number, (line, meta) in good.items():
        before = stored.get(number)
        if before is None:
            new.append(meta)
        elif _same(before, meta):
            out.skipped += 1
        else:
            out.problem(line, cols.header_of("number"), "certificate_conflict",
                        f"number {number} is already stored with other content; it was not replaced")
    if new:
        out.prepared = prepare_checked(lib, org, ctype, new)
    return out
