"""The contract's events as the indexer copies them (``chain_events``): a page of thousands in one statement
(PostgreSQL: from a ``COPY``, ``ledger.storage.bulk.staged``).

Rows are unique on (transaction, log index), so a page written again adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite

from ledger.storage.bulk import staged
from ledger.storage.models import ChainEvent

_TABLE = ChainEvent.__table__
_COLUMNS = "block_number, log_index, tx_hash, event, args"
_PG_INSERT = (f"INSERT INTO {_TABLE.name} ({_COLUMNS}) SELECT {_COLUMNS} FROM %s "
              "ON CONFLICT (tx_hash, log_index) DO NOTHING")


def insert_chain_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add events (keys block_number, log_index, tx_hash, event, args) not recorded yet."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        with staged(conn, _TABLE, rows) as source:
            conn.exec_driver_sql(_PG_INSERT % source)
        return
    conn.execute(sqlite.insert(_TABLE).on_conflict_do_nothing(), list(rows))
