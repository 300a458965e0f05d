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
_COLUMNS = "block_number, log_index, tx_hash, event, args"
# PostgreSQL: the page as one JSON document read back as rows (bytes as hex), one statement and one round trip;
# arrays per column would cost more to write out on this side than the whole insert costs the server.
_PG_INSERT = text(
    f"INSERT INTO {_TABLE.name} ({_COLUMNS}) SELECT r.block_number, r.log_index, decode(r.tx_hash, 'hex'), r.event, "
    "CAST(r.args AS jsonb) FROM json_to_recordset(CAST(:rows AS json)) AS r(block_number bigint, log_index integer, "
    "tx_hash text, event text, args json) ON CONFLICT (tx_hash, log_index) DO NOTHING"
)


def insert_chain_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add events (keys block_number, log_index, tx_hash, event, args) not recorded yet."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_INSERT, {"rows": dump_json([r | {"tx_hash": r["tx_hash"].hex()} for r in rows])})
        return
    conn.execute(sqlite.insert(_TABLE).on_conflict_do_nothing(), list(rows))
