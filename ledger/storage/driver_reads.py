"""Reads through a bare driver connection, for the verification path where SQLAlchemy's statement
machinery cost several times the read itself, and for the API's event loop, which must never wait for a pooled
connection: there each thread reads through its own connection, out of the pool and in autocommit (one round
trip per read, where a pooled one adds a liveness ping and a rollback; PostgreSQL: ~270 against ~55 µs)."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql import Select, TextClause

_compiled: dict[tuple[int, Any], tuple[str, tuple[str, ...] | None]] = {}


class _OwnConnections(threading.local):
    def __init__(self) -> None:
        self.by_engine: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()


own_connections = _OwnConnections()


def _own_connection(engine: Engine) -> Any:
    conn = own_connections.by_engine.get(engine)
    if conn is None:
        fairy = engine.raw_connection()
        fairy.detach()
        conn = fairy.dbapi_connection
        conn.rollback()
        if engine.dialect.name == "postgresql":
            conn.autocommit = True  # SQLite connections already are (ledger.storage.engine)
        own_connections.by_engine[engine] = conn
    return conn


def read_one(engine: Engine, statement: Select | TextClause, params: Mapping[str, Any], *,
             own_connection: bool = False) -> tuple[Any, ...] | None:
    """The first row of ``statement`` (compiled once per dialect), bytes as bytes; ``own_connection``: through
    this thread's own connection (the API's event loop), replaced on the next read if it broke."""
    rows = _read(engine, statement, params, own_connection, one=True)
    return rows[0] if rows else None


def read_all(engine: Engine, statement: Select | TextClause, params: Mapping[str, Any], *,
             own_connection: bool = False) -> list[tuple[Any, ...]]:
    """Every row of ``statement``, read as :func:`read_one` reads one."""
    return _read(engine, statement, params, own_connection, one=False)


def _read(engine: Engine, statement: Select | TextClause, params: Mapping[str, Any], own_connection: bool,
          one: bool) -> list[tuple[Any, ...]]:
    key = (id(statement), engine.dialect)
    compiled = _compiled.get(key)
    if compiled is None:
        c = statement.compile(dialect=engine.dialect)
        compiled = _compiled[key] = (str(c), tuple(c.positiontup) if c.positional else None)
    sql, positions = compiled
    values: Any = tuple(params[name] for name in positions) if positions is not None else dict(params)
    conn = _own_connection(engine) if own_connection else engine.raw_connection()
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, values)
            rows = [cursor.fetchone()] if one else cursor.fetchall()
        finally:
            cursor.close()
    except Exception:
        if own_connection:  # a broken connection is replaced on the next read
            own_connections.by_engine.pop(engine, None)
            with contextlib.suppress(Exception):
                conn.close()
        raise
    finally:
        if not own_connection:
            conn.close()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows if row is not None]
