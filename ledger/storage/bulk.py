"""Bulk work on each driver's fastest path: inserts by PostgreSQL ``COPY`` or SQLite's executemany, look-ups of many
keys bound as one parameter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Table,
    Text,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from ledger.storage.models import dump_json


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that share one set of keys, on the driver's fastest path.

    PostgreSQL: ``COPY ... FROM STDIN``, JSON written as text and a decorated type's values as it binds them
    (``ledger.storage.record_text``). SQLite: the driver's executemany with values converted by the columns' own
    bind processors. Both skip SQLAlchemy's per-row statement machinery,
    which costs more than the database itself at issuance rates.
    """
    if not rows:
        return
    cols = list(rows[0])
    types = [table.c[c].type.dialect_impl(conn.dialect) for c in cols]
    if conn.dialect.name == "postgresql":
        to_text = [(lambda v: v if v is None else dump_json(v)) if isinstance(t, JSON)
                   else (lambda v, t=t: t.process_bind_param(v, conn.dialect)) if isinstance(t, TypeDecorator)
                   else None for t in types]
        sql = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN"
        try:
            with conn.connection.driver_connection.cursor() as cur, cur.copy(sql) as copy:
                for r in rows:
                    copy.write_row([f(r[c]) if f else r[c] for c, f in zip(cols, to_text, strict=True)])
        except conn.dialect.loaded_dbapi.Error as e:
            raise DBAPIError.instance(sql, None, e, conn.dialect.loaded_dbapi.Error) from e
        return
    procs = [t.bind_processor(conn.dialect) for t in types]
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.exec_driver_sql(
        sql, [tuple(p(r[c]) if p else r[c] for c, p in zip(cols, procs, strict=True)) for r in rows]
    )


def one_of(column: ColumnElement[Any], values: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """``column IN values`` (text) with ONE bound parameter (an array; on SQLite a JSON list read by ``json_each``): the
    driver converts an IN of thousands of bound values at a cost above the database's for the look-up itself."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(Text)))
    listed = func.json_each(bindparam(None, json.dumps(list(values)), type_=Text)).table_valued("value")
    return column.in_(select(listed.c.value))
