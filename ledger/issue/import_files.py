"""Reading a department's export one row at a time: CSV (UTF-8 or GB18030), XLSX and JSON Lines.

Departments export from Excel or their own databases, so column headers may be the API's keys
(``number``, ``holder_id``, a field's ``key``) or the Chinese labels (``证照编号``, ``持证主体代码``, the
type schema's ``label``). A file is read as raw rows, each with its absolute row number in the file (the
header is row 1 of a CSV or XLSX file, so the numbers are the ones Excel shows; for JSON Lines, the line
number), and :meth:`Columns.source_row` turns a raw row into an issuance request in the API's shape: on
a worker process, for a large import, so that reading the file is all this process does per row. Nothing
is held but the current row: memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.core.errors import BadInput
from ledger.core.metadata import COMMON

FORMATS = ("csv", "xlsx", "jsonl")
# the common metadata a department supplies; the platform fills the others
INPUT_FIELDS = ("number", "issue_date", "valid_from", "valid_until", "jurisdiction_code", "holder", "holder_id",
                "holder_id_type", "service_item", "type_code")
_SAMPLE = 1 << 20


# a row as read: (row number, cell values) for CSV and XLSX, (line number, the line's text) for JSON Lines
RawRow = tuple[int, list[Any] | str]


@dataclass(frozen=True)
class SourceRow:
    """One row of the file: the request it makes, or why it could not be read (``error``: code, message)."""

    line: int
    request: dict[str, Any] | None
    error: tuple[str, str] | None = None


def format_of(path: Path, declared: str | None = None) -> str:
    """The file's format: ``declared`` if given, else from its suffix (.csv, .xlsx, .jsonl / .ndjson)."""
    fmt = (declared or {".ndjson": "jsonl", ".json": "jsonl"}.get(path.suffix.lower(), path.suffix.lower()[1:]))
    if fmt not in FORMATS:
        raise BadInput("import_format_unknown", f"无法识别文件格式 {fmt!r}，请用 CSV、XLSX 或 JSON Lines / unknown import "
                       f"format {fmt!r}: use csv, xlsx or jsonl", allowed=list(FORMATS))
    return fmt


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig`` when the sample is UTF-8 (a character cut at its end allowed), else ``gb18030``."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


class Columns:
    """How the file's headers map onto a request: common metadata by key or Chinese label, fields by key or label."""

    def __init__(self, schema: list[dict[str, Any]]) -> None:
        self.names: dict[str, tuple[str, str | None]] = {}  # header -> (common key | "fields", field key)
        for key in INPUT_FIELDS:
            self.names[key] = self.names[COMMON[key].label] = (key, None)
        for spec in schema:
            for name in (spec["key"], f"fields.{spec['key']}", spec.get("label") or spec["key"]):
                self.names[name] = ("fields", spec["key"])
        self.headers: list[str] = []
        self.by_field: dict[str, str] = {}  # "holder_id" / "fields.address" -> the header as the file wrote it

    def use(self, headers: list[str]) -> None:
        """Read the header row; unknown headers refuse the file (before any row is imported)."""
        self.headers = [str(h).strip() if h is not None else "" for h in headers]
        unknown = [h for h in self.headers if h and h not in self.names]
        if unknown:
            raise BadInput("import_column_unknown", f"文件有无法识别的列 {unknown} / the file has columns that are "
                           "neither a metadata field nor a field of this certificate type (by key or Chinese label): "
                           f"{unknown}", columns=unknown)
        for h in self.headers:
            if h:
                key, field = self.names[h]
                self.by_field[f"fields.{field}" if field else key] = h
        missing = [k for k in ("number", "issue_date", "holder", "holder_id", "holder_id_type")
                   if k not in self.by_field]
        if missing:
            labels = [f"{k} ({COMMON[k].label})" for k in missing]
            raise BadInput("import_column_missing", f"文件缺少必需的列 {labels} / the file lacks required columns "
                           f"{labels}", columns=missing)

    def header_of(self, field: str | None) -> str:
        """The file's header for a request field (as errors name it), e.g. ``fields.address`` -> ``住所（经营场所）``."""
        if not field:
            return ""
        return self.by_field.get(field) or self.by_field.get(field.split(".")[0]) or field

    def source_row(self, raw: RawRow) -> SourceRow:
        """The request a raw row makes, or why it cannot be read."""
        line, values = raw
        if isinstance(values, str):
            return _json_row(self, line, values)
        return SourceRow(line, self.request(values))

    def request(self, values: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"fields": {}}
        for header, value in zip(self.headers, values, strict=False):
            if not header:
                continue
            value = _cell(value)
            if value is None:
                continue
            key, field = self.names[header]
            if field:
                out["fields"][field] = value
            else:
                out[key] = value.zfill(3) if key == "holder_id_type" else value
        return out


def _cell(value: Any) -> str | None:
    """A cell as text: empty -> None, Excel dates as ISO dates, 12.0 -> 12 (Excel stores numbers as floats)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _csv_rows(path: Path, cols: Columns) -> Iterator[RawRow]:
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(_SAMPLE))
        raw.seek(0)
        reader = csv.reader(io.TextIOWrapper(raw, encoding=encoding, newline=""))
        try:
            try:
                cols.use(next(reader))
            except StopIteration:
                raise BadInput("import_empty", "文件是空的 / the file is empty") from None
            for n, values in enumerate(reader, start=2):
                if any(v.strip() for v in values):
                    yield n, values
        except UnicodeDecodeError:
            raise BadInput("import_encoding_invalid", f"第 {reader.line_num + 1} 行附近的文字不是 {encoding} 编码，请另存为 "
                           f"UTF-8 或 GB18030 / the text near line {reader.line_num + 1} is not {encoding}: save the "
                           "file as UTF-8 or GB18030", encoding=encoding) from None


def _xlsx_rows(path: Path, cols: Columns) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise BadInput("import_file_unreadable", f"无法读取 XLSX 文件 / the XLSX file cannot be read ({exc})") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        try:
            cols.use(list(next(rows)))
        except StopIteration:
            raise BadInput("import_empty", "文件是空的 / the file is empty") from None
        for n, values in enumerate(rows, start=2):
            if any(_cell(v) is not None for v in values):
                yield n, list(values)
    finally:
        book.close()


def _jsonl_rows(path: Path, cols: Columns) -> Iterator[RawRow]:
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(_SAMPLE))
        raw.seek(0)
        for n, line in enumerate(io.TextIOWrapper(raw, encoding=encoding), start=1):
            if line.strip():
                yield n, line


def _json_row(cols: Columns, n: int, line: str) -> SourceRow:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        return SourceRow(n, None, ("row_not_json", f"该行不是 JSON 对象 / the line is not a JSON object ({exc})"))
    if not isinstance(obj, dict):
        return SourceRow(n, None, ("row_not_json", "该行不是 JSON 对象 / the line is not a JSON object"))
    fields = obj.pop("fields", None)
    unknown = [k for k in obj if k not in cols.names]
    if unknown:
        return SourceRow(n, None, ("field_unknown", f"该行有无法识别的字段 {unknown} / unknown keys {unknown}"))
    request = _json_request(cols, obj)
    if isinstance(fields, dict):
        request["fields"].update(fields)
    return SourceRow(n, request)


def _json_request(cols: Columns, obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"fields": {}}
    for key, value in obj.items():
        if value is None or value == "":
            continue
        target, field = cols.names[key]
        if field:
            out["fields"][field] = value
        else:
            out[target] = value
    return out


def read_rows(path: Path, fmt: str, schema: list[dict[str, Any]]) -> tuple[Columns, Iterator[RawRow]]:
    """The file's column mapping and its raw rows, read lazily (the header is read on the first ``next``)."""
    cols = Columns(schema)
    reader = {"csv": _csv_rows, "xlsx": _xlsx_rows, "jsonl": _jsonl_rows}[fmt]
    return cols, reader(path, cols)


def count_rows(path: Path, fmt: str) -> int | None:
    """About how many data rows the file has (for a progress bar's time left), read fast; None if unknown."""
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True)
            rows = book.worksheets[0].max_row
            book.close()
        except Exception:  # the import itself reports a damaged file
            return None
        return max((rows or 1) - 1, 0)
    lines = 0
    with path.open("rb") as f:
        while block := f.read(_SAMPLE):
            lines += block.count(b"\n")
    return max(lines - (1 if fmt == "csv" else 0), 0)
