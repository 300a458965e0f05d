"""Serials of certificate identifiers, reserved in blocks from ``serial_counters``.

One row per (type, issuer, year), advanced by a single ``UPDATE ... RETURNING`` that reserves a whole
block. The row lock (PostgreSQL) or the write lock (SQLite) serialises concurrent API workers, so two
workers never get the same serial and no worker keeps state between requests.
"""

from __future__ import annotations

from sqlalchemy import Connection, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger.core.errors import BadInput, Conflict
from ledger.core.identifiers import SERIAL_DIGITS, make_serial
from ledger.storage.models import SerialCounter


def allocate_serials(conn: Connection, type_code: str, issuer_org_id: int, year: int, count: int = 1) -> list[str]:
    """Reserve ``count`` consecutive serials for (type, issuer, year), atomically.

    Runs in the caller's transaction; commit promptly, because the counter row stays locked
    until then. Raises Conflict when the year's 7-digit sequence is exhausted.
    """
    if count < 1:
        raise BadInput("count_invalid", "at least one serial must be allocated")
    table = SerialCounter.__table__
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        dialect_insert(table)
        .values(type_code=type_code, issuer_org_id=issuer_org_id, year=year, next_value=1)
        .on_conflict_do_nothing()
    )
    end = conn.execute(
        update(table)
        .where(table.c.type_code == type_code, table.c.issuer_org_id == issuer_org_id, table.c.year == year)
        .values(next_value=table.c.next_value + count)
        .returning(table.c.next_value)
    ).scalar_one()
    start = end - count
    if end - 1 >= 10**SERIAL_DIGITS:
        raise Conflict(
            "serials_exhausted",
            f"type {type_code} has used all {10**SERIAL_DIGITS - 1} serials of {year} for this issuer",
        )
    return [make_serial(year, n) for n in range(start, end)]
