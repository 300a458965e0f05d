"""The contract's events as the indexer copies them (``chain_events``): a page of thousands in one statement.

Rows are unique on (transaction, log index), so a page written again adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects import sqlite

from ledger.storage.models import ChainEvent, dump_json

_TABLE = ChainEvent.__table__
_COLUMNS = ("block_number", "log_index", "tx_hash", "event", "args")
# PostgreSQL: one array per column (the arguments as JSON text, cast element by element), one round trip.
_PG_INSERT = text(
    f"INSERT INTO {_TABLE.name} ({', '.join(_COLUMNS)}) SELECT * FROM unnest(CAST(:block_number AS bigint[]), "
    "CAST(:log_index AS integer[]), CAST(:tx_hash AS bytea[]), CAST(:event AS varchar[]), "
    "CAST(CAST(:args AS text[]) AS jsonb[])) ON CONFLICT (tx_hash, log_index) DO NOTHING"
)


def insert_chain_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add events (keys block_number, log_index, tx_hash, event, args) not recorded yet."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        params = {c: [r[c] for r in rows] for c in _COLUMNS if c != "args"}
        conn.execute(_PG_INSERT, params | {"args": [dump_json(r["args"]) for r in rows]})
        return
    conn.execute(sqlite.insert(_TABLE).on_conflict_do_nothing(), list(rows))
